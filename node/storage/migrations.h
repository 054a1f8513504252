// Versioned, forward-only schema migrations for a SQLite database.
//
// Each migration runs in its own transaction together with the row that
// records it in `schema_migrations`, so a crash leaves the schema at a whole
// version. Applying is idempotent: migrations already recorded are skipped.
#ifndef TRENODE_NODE_STORAGE_MIGRATIONS_H_
#define TRENODE_NODE_STORAGE_MIGRATIONS_H_

#include <span>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/storage/sqlite.h"

namespace trenode::storage {

struct Migration {
  int version;  // 1, 2, 3, ... with no gaps
  absl::string_view name;
  absl::string_view sql;
};

// Brings `db` up to the last of `migrations` (ordered by version). Returns the
// schema version afterwards. FailedPrecondition if the database records a
// version newer than the last one known here (a newer trenode wrote it), or if
// the list has gaps.
absl::StatusOr<int> ApplyMigrations(SqliteDb& db, std::span<const Migration> migrations);

// The highest version recorded in `db`, 0 for a fresh database.
absl::StatusOr<int> SchemaVersion(SqliteDb& db);

}  // namespace trenode::storage

#endif  // TRENODE_NODE_STORAGE_MIGRATIONS_H_
