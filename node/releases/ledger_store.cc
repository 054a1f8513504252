#include "node/releases/ledger_store.h"

#include <bit>
#include <set>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/log/merkle.h"

namespace trenode::releases {
namespace {
using storage::SqliteStatement;

LedgerEntry EntryOf(const SqliteStatement& row) {
  LedgerEntry entry;
  entry.id = row.Int64(0);
  entry.release_id = row.Text(1);
  entry.file = row.Text(2);
  entry.cell = row.Text(3);
  entry.kind = static_cast<LedgerKind>(row.Int64(4));
  entry.size = row.Int64(5);
  entry.perturbed = row.Int64(6) != 0;
  // A corrupt sketch reads as empty: it never rejects a candidate, so the
  // persons themselves are compared.
  absl::StatusOr<query::Sketch> sketch = query::DecodeSketch(row.Blob(7));
  entry.sketch_ok = sketch.ok();
  if (sketch.ok()) entry.sketch = *sketch;
  entry.digest = row.Blob(8);
  return entry;
}

constexpr char kEntryColumns[] =
    "id, release_id, file, cell, kind, size, perturbed, sketch, coalesce(digest, '')";

}  // namespace

std::string PersonsDigest(const query::PersonSet& persons) {
  // The ordinals as 32-bit little-endian words, hashed as they lie in
  // memory where that is their layout (no encoding pass).
  absl::string_view bytes;
  std::vector<uint32_t> little;
  if constexpr (std::endian::native == std::endian::little) {
    bytes = {reinterpret_cast<const char*>(persons.data()), persons.size() * sizeof(uint32_t)};
  } else {
    little.reserve(persons.size());
    for (uint32_t ordinal : persons) little.push_back(absl::little_endian::FromHost32(ordinal));
    bytes = {reinterpret_cast<const char*>(little.data()), little.size() * sizeof(uint32_t)};
  }
  return log::HashBytes(log::Sha256(bytes));
}

absl::Status SqliteLedgerStore::Record(const std::string& project_id,
                                       const std::string& dataset_id,
                                       const std::vector<LedgerCell>& cells) {
  auto db = pool_->Acquire();
  storage::SqliteTransaction transaction(*db);
  RETURN_IF_ERROR(transaction.status());
  std::set<std::string> releases;
  for (const LedgerCell& cell : cells) releases.insert(cell.release_id);
  ASSIGN_OR_RETURN(SqliteStatement remove_persons,
                   db->PrepareCached("DELETE FROM release_ledger_persons WHERE id IN "
                                     "(SELECT id FROM release_ledger WHERE release_id = ?)"));
  ASSIGN_OR_RETURN(SqliteStatement remove,
                   db->PrepareCached("DELETE FROM release_ledger WHERE release_id = ?"));
  for (const std::string& release : releases) {
    remove_persons.Bind(1, release);
    RETURN_IF_ERROR(remove_persons.Run());
    remove_persons.Reset();
    remove.Bind(1, release);
    RETURN_IF_ERROR(remove.Run());
    remove.Reset();
  }
  ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db->PrepareCached("INSERT INTO release_ledger(project_id, dataset_id, release_id, "
                        "file, cell, kind, size, perturbed, sketch, digest) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ASSIGN_OR_RETURN(
      SqliteStatement insert_persons,
      db->PrepareCached("INSERT INTO release_ledger_persons(id, persons) VALUES (?, ?)"));
  for (const LedgerCell& cell : cells) {
    insert.Bind(1, project_id)
        .Bind(2, dataset_id)
        .Bind(3, cell.release_id)
        .Bind(4, cell.file)
        .Bind(5, cell.cell)
        .Bind(6, static_cast<int64_t>(cell.kind))
        .Bind(7, static_cast<int64_t>(cell.persons.size()))
        .Bind(8, int64_t{cell.perturbed})
        .BindBlob(9, query::EncodeSketch(query::SketchOf(cell.persons)))
        .BindBlob(10, PersonsDigest(cell.persons));
    RETURN_IF_ERROR(insert.Run());
    insert.Reset();
    insert_persons.Bind(1, db->LastInsertRowId()).BindBlob(2, query::EncodePersons(cell.persons));
    RETURN_IF_ERROR(insert_persons.Run());
    insert_persons.Reset();
  }
  return transaction.Commit();
}

absl::StatusOr<std::vector<LedgerEntry>> SqliteLedgerStore::Standing(
    const std::string& dataset_id, const std::string& except) {
  auto db = pool_->Acquire();
  // One row per distinct digest (the first recorded), and every row
  // recorded without one. The distinct digests are found by skipping from
  // one to the next in release_ledger_standing (status by status), and each
  // one's first row by reading its rows in id order until one is not
  // `except`'s: the cost follows the number of distinct sets, not how often
  // each was released (a question asked every day is one set).
  ASSIGN_OR_RETURN(
      SqliteStatement select,
      db->PrepareCached(absl::StrCat(
          "WITH RECURSIVE digests(status, digest) AS ("
          "SELECT standing.status, (SELECT min(digest) FROM release_ledger WHERE "
          "dataset_id = ?1 AND status = standing.status AND digest IS NOT NULL) "
          "FROM (SELECT 1 AS status UNION ALL SELECT 2) AS standing "
          "UNION ALL "
          "SELECT d.status, (SELECT min(digest) FROM release_ledger WHERE dataset_id = ?1 AND "
          "status = d.status AND digest > d.digest) FROM digests AS d WHERE d.digest IS NOT NULL), "
          "firsts(digest, id) AS ("
          "SELECT d.digest, (SELECT id FROM release_ledger WHERE dataset_id = ?1 AND "
          "status = d.status AND digest = d.digest AND release_id != ?2 ORDER BY id LIMIT 1) "
          "FROM digests AS d WHERE d.digest IS NOT NULL) "
          "SELECT ",
          kEntryColumns,
          " FROM release_ledger WHERE id IN ("
          "SELECT min(id) FROM firsts WHERE id IS NOT NULL GROUP BY digest "
          "UNION ALL "
          "SELECT id FROM release_ledger WHERE dataset_id = ?1 AND status IN (1, 2) AND "
          "release_id != ?2 AND digest IS NULL) ORDER BY size")));
  select.Bind(1, dataset_id).Bind(2, except);
  std::vector<LedgerEntry> entries;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    entries.push_back(EntryOf(select));
  }
  return entries;
}

absl::StatusOr<std::vector<LedgerCell>> SqliteLedgerStore::OfRelease(
    const std::string& release_id) {
  auto db = pool_->Acquire();
  // A cell whose persons are missing is an error, never a cell left out of
  // the audit.
  ASSIGN_OR_RETURN(
      SqliteStatement select,
      db->PrepareCached("SELECT l.id, l.release_id, l.file, l.cell, l.kind, l.perturbed, "
                        "p.persons, l.sketch, coalesce(l.digest, '') FROM release_ledger l "
                        "LEFT JOIN release_ledger_persons p ON p.id = l.id "
                        "WHERE l.release_id = ? ORDER BY l.id"));
  select.Bind(1, release_id);
  std::vector<LedgerCell> cells;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    LedgerCell cell;
    cell.id = select.Int64(0);
    cell.release_id = select.Text(1);
    cell.file = select.Text(2);
    cell.cell = select.Text(3);
    cell.kind = static_cast<LedgerKind>(select.Int64(4));
    cell.perturbed = select.Int64(5) != 0;
    if (select.IsNull(6)) {
      return absl::DataLossError(absl::StrCat("the persons of ledger cell ", cell.id,
                                              " of release ", release_id, " are missing"));
    }
    ASSIGN_OR_RETURN(cell.persons, query::DecodePersons(select.Blob(6)));
    absl::StatusOr<query::Sketch> sketch = query::DecodeSketch(select.Blob(7));
    if (sketch.ok()) cell.sketch = *sketch;
    cell.digest = select.Blob(8);
    cells.push_back(std::move(cell));
  }
  return cells;
}

absl::StatusOr<query::PersonSet> SqliteLedgerStore::Persons(int64_t id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT persons FROM release_ledger_persons WHERE id = ?"));
  select.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no ledger cell ", id));
  return query::DecodePersons(select.Blob(0));
}

namespace {
constexpr int kSubmitted = 2, kReleased = 1, kClosed = 3;
}  // namespace

absl::Status SqliteLedgerStore::SetStatus(const std::string& release_id, int status,
                                          const std::string& where) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement update,
                   db->PrepareCached(absl::StrCat("UPDATE release_ledger SET status = ? WHERE "
                                                  "release_id = ?",
                                                  where)));
  update.Bind(1, int64_t{status}).Bind(2, release_id);
  return update.Run();
}

absl::Status SqliteLedgerStore::MarkSubmitted(const std::string& release_id) {
  return SetStatus(release_id, kSubmitted);
}

absl::Status SqliteLedgerStore::MarkClosed(const std::string& release_id) {
  return SetStatus(release_id, kClosed);
}

absl::Status SqliteLedgerStore::MarkReleased(const std::string& release_id,
                                             const std::set<std::string>& files) {
  auto db = pool_->Acquire();
  storage::SqliteTransaction transaction(*db);
  RETURN_IF_ERROR(transaction.status());
  ASSIGN_OR_RETURN(SqliteStatement close,
                   db->PrepareCached("UPDATE release_ledger SET status = ? WHERE release_id = ?"));
  close.Bind(1, int64_t{kClosed}).Bind(2, release_id);
  RETURN_IF_ERROR(close.Run());
  ASSIGN_OR_RETURN(
      SqliteStatement update,
      db->PrepareCached("UPDATE release_ledger SET status = ? WHERE release_id = ? AND "
                        "file = ?"));
  for (const std::string& file : files) {
    update.Bind(1, int64_t{kReleased}).Bind(2, release_id).Bind(3, file);
    RETURN_IF_ERROR(update.Run());
    update.Reset();
  }
  return transaction.Commit();
}

}  // namespace trenode::releases
