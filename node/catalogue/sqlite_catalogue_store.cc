#include "node/catalogue/sqlite_catalogue_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "node/common/status_macros.h"

namespace trenode::catalogue {
namespace {
using google::protobuf::util::TimeUtil;
using storage::SqliteDb;
using storage::SqliteStatement;
using storage::SqliteTransaction;
using trenode::v1::Dataset;

// Columns every read selects, in this order, followed by anything extra.
constexpr char kSelectDataset[] =
    "SELECT v.metadata, v.created_micros, d.state, d.retirement_reason, d.issued_micros,"
    " d.state_changed_micros, d.latest_version";

int64_t Micros(const google::protobuf::Timestamp& t) {
  return TimeUtil::TimestampToMicroseconds(t);
}

absl::StatusOr<Dataset> DatasetFromRow(const SqliteStatement& row) {
  Dataset dataset;
  if (!dataset.ParseFromString(row.Blob(0))) {
    return absl::DataLossError("stored dataset metadata does not parse");
  }
  dataset.set_state(static_cast<trenode::v1::DatasetState>(row.Int64(2)));
  dataset.set_retirement_reason(row.Text(3));
  *dataset.mutable_issued() = TimeUtil::MicrosecondsToTimestamp(row.Int64(4));
  int64_t modified = row.Int64(1);
  if (dataset.version() == row.Int64(6)) modified = std::max(modified, row.Int64(5));
  *dataset.mutable_modified() = TimeUtil::MicrosecondsToTimestamp(modified);
  return dataset;
}

// What stays in the metadata blob: everything but the fields kept as columns.
std::string MetadataBlob(const Dataset& dataset) {
  Dataset stored = dataset;
  stored.clear_state();
  stored.clear_retirement_reason();
  stored.clear_issued();
  stored.clear_modified();
  return stored.SerializeAsString();
}

const char* CodingSystemWords(trenode::v1::CodingSystem system) {
  switch (system) {
    case trenode::v1::CODING_SYSTEM_ICD10:
      return "ICD-10 ICD10";
    case trenode::v1::CODING_SYSTEM_SNOMED_CT:
      return "SNOMED CT";
    case trenode::v1::CODING_SYSTEM_DMD:
      return "dm+d dmd";
    case trenode::v1::CODING_SYSTEM_BNF:
      return "BNF";
    case trenode::v1::CODING_SYSTEM_OPCS4:
      return "OPCS-4 OPCS4";
    case trenode::v1::CODING_SYSTEM_READ_V2:
      return "Read v2";
    case trenode::v1::CODING_SYSTEM_LOINC:
      return "LOINC";
    case trenode::v1::CODING_SYSTEM_ATC:
      return "ATC";
    default:
      return "";
  }
}

std::string SchemaText(const Dataset& dataset) {
  std::vector<std::string> parts;
  for (const auto& table : dataset.tables()) {
    parts.push_back(table.name());
    parts.push_back(table.description());
    for (const auto& column : table.columns()) {
      parts.push_back(column.name());
      parts.push_back(column.description());
      parts.push_back(CodingSystemWords(column.coding_system()));
    }
  }
  return absl::StrJoin(parts, " ");
}

// Makes `dataset` the searchable text of the dataset whose row is `rowid`.
absl::Status IndexLatest(SqliteDb& db, int64_t rowid, const Dataset& dataset) {
  ASSIGN_OR_RETURN(SqliteStatement remove,
                   db.PrepareCached("DELETE FROM dataset_search WHERE rowid = ?"));
  RETURN_IF_ERROR(remove.Bind(1, rowid).Run());
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db.PrepareCached("INSERT INTO dataset_search(rowid, dataset_id, state, title,"
                                    " description, keywords, schema_text)"
                                    " VALUES (?, ?, ?, ?, ?, ?, ?)"));
  std::vector<std::string> keywords(dataset.keywords().begin(), dataset.keywords().end());
  keywords.insert(keywords.end(), dataset.themes().begin(), dataset.themes().end());
  insert.Bind(1, rowid)
      .Bind(2, dataset.id())
      .Bind(3, int64_t{trenode::v1::DATASET_STATE_ACTIVE})
      .Bind(4, dataset.title())
      .Bind(5, dataset.description())
      .Bind(6, absl::StrJoin(keywords, " "))
      .Bind(7, SchemaText(dataset));
  return insert.Run();
}

absl::Status InsertVersion(SqliteDb& db, const Dataset& dataset) {
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db.PrepareCached("INSERT INTO dataset_versions(dataset_id, version, metadata,"
                                    " created_micros) VALUES (?, ?, ?, ?)"));
  insert.Bind(1, dataset.id())
      .Bind(2, dataset.version())
      .BindBlob(3, MetadataBlob(dataset))
      .Bind(4, Micros(dataset.modified()));
  return insert.Run();
}

struct DatasetRow {
  int64_t rowid;
  int64_t latest_version;
  int64_t state;
};

absl::StatusOr<DatasetRow> ReadDatasetRow(SqliteDb& db, const std::string& id) {
  ASSIGN_OR_RETURN(
      SqliteStatement select,
      db.PrepareCached("SELECT rowid, latest_version, state FROM datasets WHERE id = ?"));
  select.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no dataset \"", id, "\""));
  return DatasetRow{select.Int64(0), select.Int64(1), select.Int64(2)};
}

// An FTS5 query in which every word is a quoted string, so no user input is
// ever read as FTS5 syntax.
std::string MatchExpression(const std::vector<SearchWord>& words) {
  std::vector<std::string> terms;
  for (const SearchWord& word : words) {
    terms.push_back(absl::StrCat("\"", word.text, "\"", word.prefix ? "*" : ""));
  }
  return absl::StrJoin(terms, " AND ");
}

}  // namespace

absl::Status SqliteCatalogueStore::Create(const Dataset& first) {
  auto db = pool_->Acquire();
  SqliteTransaction txn(*db);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db->PrepareCached("INSERT INTO datasets(id, latest_version, state, issued_micros,"
                        " state_changed_micros) VALUES (?, 1, ?, ?, ?)"));
  insert.Bind(1, first.id())
      .Bind(2, int64_t{trenode::v1::DATASET_STATE_ACTIVE})
      .Bind(3, Micros(first.issued()))
      .Bind(4, Micros(first.issued()));
  if (absl::Status s = insert.Run(); !s.ok()) {
    if (s.code() == absl::StatusCode::kFailedPrecondition) {
      return absl::AlreadyExistsError(absl::StrCat("dataset \"", first.id(), "\" already exists"));
    }
    return s;
  }
  int64_t rowid = db->LastInsertRowId();
  RETURN_IF_ERROR(InsertVersion(*db, first));
  RETURN_IF_ERROR(IndexLatest(*db, rowid, first));
  absl::Status committed = txn.Commit();
  rankings_.Invalidate();
  return committed;
}

absl::Status SqliteCatalogueStore::AddVersion(const Dataset& next) {
  auto db = pool_->Acquire();
  SqliteTransaction txn(*db);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(DatasetRow row, ReadDatasetRow(*db, next.id()));
  if (row.state == trenode::v1::DATASET_STATE_RETIRED) {
    return absl::FailedPreconditionError(
        absl::StrCat("dataset \"", next.id(), "\" is retired and cannot be changed"));
  }
  if (row.latest_version != next.version() - 1) {
    return absl::AbortedError(absl::StrCat("dataset \"", next.id(), "\" is at version ",
                                           row.latest_version, ", not ", next.version() - 1,
                                           ": fetch it again and reapply your change"));
  }
  RETURN_IF_ERROR(InsertVersion(*db, next));
  ASSIGN_OR_RETURN(SqliteStatement bump,
                   db->PrepareCached("UPDATE datasets SET latest_version = ? WHERE id = ?"));
  RETURN_IF_ERROR(bump.Bind(1, next.version()).Bind(2, next.id()).Run());
  RETURN_IF_ERROR(IndexLatest(*db, row.rowid, next));
  absl::Status committed = txn.Commit();
  rankings_.Invalidate();
  return committed;
}

absl::Status SqliteCatalogueStore::Retire(const std::string& id, const std::string& reason,
                                          absl::Time when) {
  auto db = pool_->Acquire();
  SqliteTransaction txn(*db);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(DatasetRow row, ReadDatasetRow(*db, id));
  if (row.state == trenode::v1::DATASET_STATE_RETIRED) {
    return absl::FailedPreconditionError(absl::StrCat("dataset \"", id, "\" is already retired"));
  }
  ASSIGN_OR_RETURN(SqliteStatement update,
                   db->PrepareCached("UPDATE datasets SET state = ?, retirement_reason = ?,"
                                     " state_changed_micros = ? WHERE id = ?"));
  update.Bind(1, int64_t{trenode::v1::DATASET_STATE_RETIRED})
      .Bind(2, reason)
      .Bind(3, absl::ToUnixMicros(when))
      .Bind(4, id);
  RETURN_IF_ERROR(update.Run());
  ASSIGN_OR_RETURN(SqliteStatement unlist,
                   db->PrepareCached("UPDATE dataset_search SET state = ? WHERE rowid = ?"));
  RETURN_IF_ERROR(
      unlist.Bind(1, int64_t{trenode::v1::DATASET_STATE_RETIRED}).Bind(2, row.rowid).Run());
  absl::Status committed = txn.Commit();
  rankings_.Invalidate();
  return committed;
}

absl::StatusOr<Dataset> SqliteCatalogueStore::Get(const std::string& id, int64_t version) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached(absl::StrCat(
                       kSelectDataset,
                       " FROM datasets d JOIN dataset_versions v ON v.dataset_id = d.id"
                       " WHERE d.id = ?1 AND v.version ="
                       " CASE WHEN ?2 = 0 THEN d.latest_version ELSE ?2 END")));
  select.Bind(1, id).Bind(2, version);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) {
    if (version == 0) return absl::NotFoundError(absl::StrCat("no dataset \"", id, "\""));
    return absl::NotFoundError(absl::StrCat("no version ", version, " of dataset \"", id, "\""));
  }
  return DatasetFromRow(select);
}

absl::StatusOr<trenode::v1::DatasetState> SqliteCatalogueStore::StateOf(const std::string& id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(DatasetRow row, ReadDatasetRow(*db, id));
  return static_cast<trenode::v1::DatasetState>(row.state);
}

absl::StatusOr<std::vector<Dataset>> SqliteCatalogueStore::List(const std::string& after_id,
                                                                bool include_retired, int limit) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(
      SqliteStatement select,
      db->PrepareCached(absl::StrCat(kSelectDataset,
                                     " FROM datasets d JOIN dataset_versions v"
                                     " ON v.dataset_id = d.id AND v.version = d.latest_version"
                                     " WHERE d.id > ?1 AND (?2 OR d.state = ?3)"
                                     " ORDER BY d.id LIMIT ?4")));
  select.Bind(1, after_id)
      .Bind(2, int64_t{include_retired})
      .Bind(3, int64_t{trenode::v1::DATASET_STATE_ACTIVE})
      .Bind(4, int64_t{limit});
  std::vector<Dataset> page;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return page;
    ASSIGN_OR_RETURN(Dataset dataset, DatasetFromRow(select));
    page.push_back(std::move(dataset));
  }
}

absl::StatusOr<RankedHits> SqliteCatalogueStore::Rank(SqliteDb& db,
                                                     const std::string& expression) {
  // bm25 weights by column: dataset_id and state (unindexed), title,
  // description, keywords, schema.
  ASSIGN_OR_RETURN(SqliteStatement rank,
                   db.PrepareCached("SELECT rowid, dataset_id, state,"
                                    " -bm25(dataset_search, 0.0, 0.0, 10.0, 2.0, 5.0, 1.0) AS score"
                                    " FROM dataset_search WHERE dataset_search MATCH ?"
                                    " ORDER BY score DESC, dataset_id ASC"));
  rank.Bind(1, expression);
  auto hits = std::make_shared<std::vector<RankedHit>>();
  while (true) {
    ASSIGN_OR_RETURN(bool row, rank.Step());
    if (!row) return hits;
    hits->push_back({rank.Int64(0), rank.Text(1), rank.Int64(2), rank.Double(3)});
  }
}

absl::StatusOr<std::vector<ScoredDataset>> SqliteCatalogueStore::Search(
    const std::string& searcher, const std::vector<SearchWord>& words, bool include_retired,
    const std::optional<SearchCursor>& after, int limit) {
  auto db = pool_->Acquire();
  const std::string expression = MatchExpression(words);
  const std::string kept_as = absl::StrCat(searcher.size(), ":", searcher, expression);
  RankedHits hits = rankings_.Find(kept_as);
  if (hits == nullptr) {
    const uint64_t generation = rankings_.generation();
    ASSIGN_OR_RETURN(hits, Rank(*db, expression));
    rankings_.Put(kept_as, generation, hits);
  }
  // Only the page's datasets are read.
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached(absl::StrCat(
                       kSelectDataset,
                       " FROM datasets d CROSS JOIN dataset_versions v"
                       " ON v.dataset_id = d.id AND v.version = d.latest_version"
                       " WHERE d.rowid = ?")));
  std::vector<ScoredDataset> page;
  for (const RankedHit& hit : *hits) {
    if (static_cast<int>(page.size()) >= limit) break;
    if (!include_retired && hit.state != trenode::v1::DATASET_STATE_ACTIVE) continue;
    if (after && !(hit.score < after->score ||
                   (hit.score == after->score && hit.dataset_id > after->dataset_id))) {
      continue;
    }
    select.Reset();
    select.Bind(1, hit.row);
    ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) return absl::InternalError("a search match has no dataset");
    ASSIGN_OR_RETURN(Dataset dataset, DatasetFromRow(select));
    page.push_back({std::move(dataset), hit.score});
  }
  return page;
}

absl::Status SqliteCatalogueStore::PutTableRows(const std::string& id, int64_t version,
                                                const TableRows& rows) {
  auto db = pool_->Acquire();
  SqliteTransaction txn(*db);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(SqliteStatement exists,
                   db->PrepareCached("SELECT 1 FROM dataset_versions"
                                     " WHERE dataset_id = ? AND version = ?"));
  exists.Bind(1, id).Bind(2, version);
  ASSIGN_OR_RETURN(bool found, exists.Step());
  if (!found) {
    return absl::NotFoundError(absl::StrCat("no version ", version, " of dataset \"", id, "\""));
  }
  ASSIGN_OR_RETURN(SqliteStatement clear,
                   db->PrepareCached("DELETE FROM dataset_table_rows"
                                     " WHERE dataset_id = ? AND version = ?"));
  RETURN_IF_ERROR(clear.Bind(1, id).Bind(2, version).Run());
  for (const auto& [table, count] : rows) {
    ASSIGN_OR_RETURN(SqliteStatement insert,
                     db->PrepareCached("INSERT INTO dataset_table_rows(dataset_id, version,"
                                       " table_name, row_count) VALUES (?, ?, ?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, id).Bind(2, version).Bind(3, table).Bind(4, count).Run());
  }
  return txn.Commit();
}

absl::StatusOr<TableRows> SqliteCatalogueStore::GetTableRows(const std::string& id,
                                                             int64_t version) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT table_name, row_count FROM dataset_table_rows"
                                     " WHERE dataset_id = ? AND version = ?"));
  select.Bind(1, id).Bind(2, version);
  TableRows rows;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    rows[select.Text(0)] = select.Int64(1);
  }
  if (rows.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no table row counts kept for version ", version, " of dataset \"", id, "\""));
  }
  return rows;
}

}  // namespace trenode::catalogue
