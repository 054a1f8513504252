#include "node/storage/sqlite_pool.h"

#include "node/common/status_macros.h"

namespace trenode::storage {

absl::StatusOr<std::unique_ptr<SqlitePool>> SqlitePool::Open(
    const std::string& path, int size, std::span<const Migration> migrations) {
  std::unique_ptr<SqlitePool> pool(new SqlitePool());
  for (int i = 0; i < size; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
    if (i == 0) RETURN_IF_ERROR(ApplyMigrations(*db, migrations).status());
    absl::MutexLock lock(&pool->mu_);
    pool->idle_.push_back(std::move(db));
  }
  return pool;
}

SqlitePool::Lease SqlitePool::Acquire() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::vector<std::unique_ptr<SqliteDb>>* idle) { return !idle->empty(); }, &idle_));
  std::unique_ptr<SqliteDb> db = std::move(idle_.back());
  idle_.pop_back();
  return Lease(this, std::move(db));
}

void SqlitePool::Release(std::unique_ptr<SqliteDb> db) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(db));
}

}  // namespace trenode::storage
