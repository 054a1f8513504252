#include "node/storage/migrations.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "node/common/status_macros.h"

namespace trenode::storage {

absl::StatusOr<int> SchemaVersion(SqliteDb& db) {
  RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"));
  ASSIGN_OR_RETURN(SqliteStatement stmt,
                   db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<int>(stmt.Int64(0)) : 0;
}

absl::StatusOr<int> ApplyMigrations(SqliteDb& db, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::FailedPreconditionError(absl::StrCat("migration list has a gap: entry ", i,
                                                        " has version ", migrations[i].version,
                                                        ", expected ", i + 1));
    }
  }
  ASSIGN_OR_RETURN(int current, SchemaVersion(db));
  const int latest = static_cast<int>(migrations.size());
  if (current > latest) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", current, " is newer than this trenode supports (",
                     latest, "); run a newer trenode or restore a backup"));
  }
  for (const Migration& migration : migrations.subspan(current)) {
    SqliteTransaction txn(db);
    RETURN_IF_ERROR(txn.status());
    if (absl::Status s = db.Exec(migration.sql); !s.ok()) {
      return absl::InternalError(absl::StrCat("migration ", migration.version, " (", migration.name,
                                              ") failed: ", s.message()));
    }
    ASSIGN_OR_RETURN(SqliteStatement record,
                     db.Prepare("INSERT INTO schema_migrations(version, name, applied_at)"
                                " VALUES (?, ?, ?)"));
    record.Bind(1, static_cast<int64_t>(migration.version))
        .Bind(2, migration.name)
        .Bind(3, absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));
    RETURN_IF_ERROR(record.Run());
    RETURN_IF_ERROR(txn.Commit());
    current = migration.version;
  }
  return current;
}

}  // namespace trenode::storage
