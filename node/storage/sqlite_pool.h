// A fixed set of connections to one SQLite file, leased one per caller, so
// readers run in parallel under WAL while writers serialize on SQLite's lock.
//
// Thread-safe. A lease must not outlive its pool.
#ifndef TRENODE_NODE_STORAGE_SQLITE_POOL_H_
#define TRENODE_NODE_STORAGE_SQLITE_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/storage/migrations.h"
#include "node/storage/sqlite.h"

namespace trenode::storage {

class SqlitePool {
 public:
  class Lease {
   public:
    Lease(SqlitePool* pool, std::unique_ptr<SqliteDb> db) : pool_(pool), db_(std::move(db)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (db_) pool_->Release(std::move(db_));
    }
    SqliteDb& operator*() { return *db_; }
    SqliteDb* operator->() { return db_.get(); }

   private:
    SqlitePool* pool_;
    std::unique_ptr<SqliteDb> db_;
  };

  // Opens `size` connections to `path` after bringing its schema up to
  // `migrations`. Fails as ApplyMigrations or SqliteDb::Open do.
  static absl::StatusOr<std::unique_ptr<SqlitePool>> Open(const std::string& path, int size,
                                                          std::span<const Migration> migrations);

  // Waits for a free connection.
  Lease Acquire();

 private:
  SqlitePool() = default;
  void Release(std::unique_ptr<SqliteDb> db);

  absl::Mutex mu_;
  std::vector<std::unique_ptr<SqliteDb>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::storage

#endif  // TRENODE_NODE_STORAGE_SQLITE_POOL_H_
