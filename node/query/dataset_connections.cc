#include "node/query/dataset_connections.h"

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/query/runner.h"

namespace trenode::query {

DatasetConnections::Lease::~Lease() {
  if (db_ == nullptr) return;  // moved from
  if (!keep_open_) return;     // closed with it
  db_->SetStopCheck(nullptr);
  owner_->GiveBack(std::move(path_), std::move(db_));
}

absl::StatusOr<DatasetConnections::Lease> DatasetConnections::Borrow(
    const std::string& path, const trenode::v1::Dataset& dataset) {
  std::unique_ptr<storage::SqliteDb> db;
  std::optional<bool> person_rowids;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if (it->first != path) continue;
      db = std::move(it->second);
      idle_.erase(it);
      break;
    }
    if (auto known = person_rowids_.find(path); known != person_rowids_.end()) {
      person_rowids = known->second;
    }
  }
  if (db == nullptr) {
    ASSIGN_OR_RETURN(db, storage::SqliteDb::Open(path, storage::SqliteDb::Mode::kReadOnly));
    RETURN_IF_ERROR(db->Exec(absl::StrCat("PRAGMA cache_size=-", options_.cache_bytes >> 10,
                                          "; PRAGMA mmap_size=", options_.mmap_bytes, ";")));
  }
  if (!person_rowids) {
    ASSIGN_OR_RETURN(person_rowids, FileHasPersonRowids(*db, dataset));
    absl::MutexLock lock(&mu_);
    if (person_rowids_.size() >= kMaxFilesKnown) person_rowids_.clear();
    person_rowids_[path] = *person_rowids;
  }
  return Lease(this, path, std::move(db), *person_rowids);
}

void DatasetConnections::GiveBack(std::string path, std::unique_ptr<storage::SqliteDb> db) {
  std::unique_ptr<storage::SqliteDb> closed;  // closed once the lock is let go
  absl::MutexLock lock(&mu_);
  idle_.emplace_front(std::move(path), std::move(db));
  if (idle_.size() > options_.max_idle) {
    closed = std::move(idle_.back().second);
    idle_.pop_back();
  }
}

size_t DatasetConnections::idle() const {
  absl::MutexLock lock(&mu_);
  return idle_.size();
}

}  // namespace trenode::query
