// BudgetStore in the node's SQLite database (table `budgets`,
// node/storage/node_schema.cc, migration 13). Thread-safe: each call leases
// a connection of the pool.
#ifndef TRENODE_NODE_CHARGING_SQLITE_BUDGET_STORE_H_
#define TRENODE_NODE_CHARGING_SQLITE_BUDGET_STORE_H_

#include <string>

#include "node/charging/budget_store.h"
#include "node/storage/sqlite_pool.h"

namespace trenode::charging {

class SqliteBudgetStore : public BudgetStore {
 public:
  // `pool` holds the node's schema and must outlive the store.
  explicit SqliteBudgetStore(storage::SqlitePool* pool) : pool_(pool) {}

  absl::StatusOr<std::optional<trenode::v1::Budget>> Get(const std::string& project_id) override;
  absl::Status Put(const trenode::v1::Budget& budget) override;

 private:
  storage::SqlitePool* pool_;
};

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_SQLITE_BUDGET_STORE_H_
