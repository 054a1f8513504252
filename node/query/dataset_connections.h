// Read-only connections to dataset files, lent to one query at a time and
// kept open between queries, so that a small query does not pay for opening
// the file, mapping it and learning its layout each time. A dataset file
// never changes once stored (its path names its content), so neither a
// kept connection nor what was learned of the file goes stale. Thread-safe.
#ifndef TRENODE_NODE_QUERY_DATASET_CONNECTIONS_H_
#define TRENODE_NODE_QUERY_DATASET_CONNECTIONS_H_

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/storage/sqlite.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::query {

class DatasetConnections {
 public:
  struct Options {
    // Each connection's SQLite page cache, and how much of the file it reads
    // through a memory map (shared through the OS page cache).
    int64_t cache_bytes = int64_t{64} << 20;
    int64_t mmap_bytes = int64_t{1} << 30;
    // Most connections kept open while no query uses them, over all files:
    // what idle connections hold is then at most what as many running
    // queries hold.
    size_t max_idle = 2;
  };

  // One query's connection; given back when destroyed, kept open for the
  // next query only if KeepOpen was called.
  class Lease {
   public:
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    storage::SqliteDb& db() const { return *db_; }
    // The file's event tables name persons by rowid (FileHasPersonRowids).
    bool person_rowids() const { return person_rowids_; }
    // Called once the query ended as it should: the connection, its stop
    // check cleared, may serve the next query of the file.
    void KeepOpen() { keep_open_ = true; }

   private:
    friend class DatasetConnections;
    Lease(DatasetConnections* owner, std::string path, std::unique_ptr<storage::SqliteDb> db,
          bool person_rowids)
        : owner_(owner),
          path_(std::move(path)),
          db_(std::move(db)),
          person_rowids_(person_rowids) {}

    DatasetConnections* owner_;
    std::string path_;
    std::unique_ptr<storage::SqliteDb> db_;  // null once moved from
    bool person_rowids_;
    bool keep_open_ = false;
  };

  explicit DatasetConnections(Options options) : options_(options) {}

  // A connection to the file at `path`, which holds `dataset`'s tables: an
  // idle one if any, else newly opened (Unavailable if it cannot be).
  absl::StatusOr<Lease> Borrow(const std::string& path, const trenode::v1::Dataset& dataset);

  // Connections open and not lent (for tests).
  size_t idle() const;

 private:
  void GiveBack(std::string path, std::unique_ptr<storage::SqliteDb> db);

  // Files whose layout is remembered; beyond, the memory is cleared.
  static constexpr size_t kMaxFilesKnown = 1024;

  const Options options_;
  mutable absl::Mutex mu_;
  // Most recently given back first.
  std::list<std::pair<std::string, std::unique_ptr<storage::SqliteDb>>> idle_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, bool> person_rowids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_DATASET_CONNECTIONS_H_
