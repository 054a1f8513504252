// StorageLedger in the node's SQLite database (tables `storage_intervals`
// and `egress`, node/storage/node_schema.cc, migration 17). Each change is
// one transaction; a project's month is read from an index on (project,
// time). Thread-safe: each call leases a connection of the pool.
#ifndef TRENODE_NODE_CHARGING_SQLITE_STORAGE_LEDGER_H_
#define TRENODE_NODE_CHARGING_SQLITE_STORAGE_LEDGER_H_

#include <string>
#include <vector>

#include "node/charging/storage_ledger.h"
#include "node/storage/sqlite_pool.h"

namespace trenode::charging {

class SqliteStorageLedger : public StorageLedger {
 public:
  // `pool` holds the node's schema and must outlive the ledger.
  explicit SqliteStorageLedger(storage::SqlitePool* pool) : pool_(pool) {}

  absl::Status Stored(const std::string& project_id, StoredKind kind, const std::string& object,
                      int64_t bytes, absl::Time at,
                      std::optional<absl::Time> until = std::nullopt) override;
  absl::Status Removed(const std::string& object, absl::Time at) override;
  absl::Status Egress(const EgressRecord& record) override;
  absl::StatusOr<std::vector<StorageInterval>> IntervalsOf(const std::string& project_id,
                                                           absl::Time from,
                                                           absl::Time to) override;
  absl::StatusOr<std::vector<EgressRecord>> EgressOf(const std::string& project_id,
                                                    absl::Time from, absl::Time to) override;
  absl::StatusOr<std::vector<StorageInterval>> LiveOfKind(StoredKind kind,
                                                          absl::Time at) override;
  absl::StatusOr<int64_t> StoredNow(const std::string& project_id) override;

 private:
  storage::SqlitePool* pool_;
};

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_SQLITE_STORAGE_LEDGER_H_
