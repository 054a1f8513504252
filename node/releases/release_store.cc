#include "node/releases/release_store.h"

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/storage/proto_rows.h"

namespace trenode::releases {
using storage::SqliteStatement;
using trenode::v1::Release;

absl::Status SqliteReleaseStore::Create(const Release& release) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db->PrepareCached("INSERT INTO releases(id, analysis_id, requester, state,"
                                     " release) VALUES (?, ?, ?, ?, ?)"));
  insert.Bind(1, release.id())
      .Bind(2, release.analysis_id())
      .Bind(3, release.requester())
      .Bind(4, int64_t{release.state()})
      .BindBlob(5, release.SerializeAsString());
  return storage::InTransaction(*db, [&]() -> absl::Status {
    absl::Status status = insert.Run();
    if (status.code() == absl::StatusCode::kFailedPrecondition) {
      return absl::AlreadyExistsError(absl::StrCat("analysis ", release.analysis_id(),
                                                   " already has an open release request"));
    }
    return status;
  });
}

absl::StatusOr<Release> SqliteReleaseStore::Get(const std::string& id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT release FROM releases WHERE id = ?"));
  select.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no release \"", id, "\" at this node"));
  return storage::ParseColumn<Release>(select, 0);
}

absl::StatusOr<std::vector<Release>> SqliteReleaseStore::ForAnalysis(
    const std::string& analysis_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(
      SqliteStatement select,
      db->PrepareCached("SELECT release FROM releases WHERE analysis_id = ? ORDER BY id"));
  select.Bind(1, analysis_id);
  return storage::ParseAllRows<Release>(select);
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> SqliteReleaseStore::Versions(
    const std::string& analysis_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(
      SqliteStatement select,
      db->PrepareCached("SELECT id, version FROM releases WHERE analysis_id = ? ORDER BY id"));
  select.Bind(1, analysis_id);
  std::vector<std::pair<std::string, int64_t>> versions;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return versions;
    versions.emplace_back(select.Text(0), select.Int64(1));
  }
}

absl::StatusOr<ReleaseStore::VersionsByAnalysis> SqliteReleaseStore::VersionsOf(
    const std::vector<std::string>& analysis_ids) {
  VersionsByAnalysis versions;
  if (analysis_ids.empty()) return versions;
  auto db = pool_->Acquire();
  // One read transaction: one snapshot, and one start of a read (each of
  // which, after another connection's write, drops the connection's cache).
  RETURN_IF_ERROR(db->Exec("BEGIN"));
  absl::Cleanup end = [&] { (void)db->Exec("COMMIT"); };
  ASSIGN_OR_RETURN(
      SqliteStatement select,
      db->PrepareCached("SELECT id, version FROM releases WHERE analysis_id = ? ORDER BY id"));
  for (const std::string& analysis_id : analysis_ids) {
    select.Reset();
    select.Bind(1, analysis_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      versions[analysis_id].emplace_back(select.Text(0), select.Int64(1));
    }
  }
  return versions;
}

absl::Status SqliteReleaseStore::Update(const Release& release,
                                        trenode::v1::ReleaseState expected) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement update,
                   db->PrepareCached("UPDATE releases SET state = ?, release = ?, version = "
                                     "version + 1 WHERE id = ? AND state = ?"));
  update.Bind(1, int64_t{release.state()})
      .BindBlob(2, release.SerializeAsString())
      .Bind(3, release.id())
      .Bind(4, int64_t{expected});
  return storage::InTransaction(*db, [&]() -> absl::Status {
    RETURN_IF_ERROR(update.Run());
    if (db->Changes() == 1) return absl::OkStatus();
    return absl::AbortedError(
        absl::StrCat("release ", release.id(), " changed meanwhile; fetch it and try again"));
  });
}

std::string SqliteReleaseStore::ListSql(const std::string& requester,
                                        trenode::v1::ReleaseState state) {
  // Only the filters given appear, so that SQLite serves them from
  // (requester, id) or (state, id) rather than walking every release.
  std::string sql = "SELECT release FROM releases WHERE id > ?";
  if (!requester.empty()) sql += " AND requester = ?";
  if (state != 0) sql += " AND state = ?";
  sql += " ORDER BY id LIMIT ?";
  return sql;
}

absl::StatusOr<std::vector<Release>> SqliteReleaseStore::List(const std::string& requester,
                                                              trenode::v1::ReleaseState state,
                                                              const std::string& after_id,
                                                              int limit) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select, db->PrepareCached(ListSql(requester, state)));
  int index = 1;
  select.Bind(index++, after_id);
  if (!requester.empty()) select.Bind(index++, requester);
  if (state != 0) select.Bind(index++, int64_t{state});
  select.Bind(index, int64_t{limit});
  return storage::ParseAllRows<Release>(select);
}

}  // namespace trenode::releases
