// BudgetStore: each project's budget as a steward last set it
// (spec/charging.md, "Budgets"). SqliteBudgetStore keeps them in the node's
// database; MemoryBudgetStore is the fake. Implementations are thread-safe.
#ifndef TRENODE_NODE_CHARGING_BUDGET_STORE_H_
#define TRENODE_NODE_CHARGING_BUDGET_STORE_H_

#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "trenode/v1/governance.pb.h"

namespace trenode::charging {

class BudgetStore {
 public:
  virtual ~BudgetStore() = default;
  // nullopt if none was ever set; Unavailable if the store cannot be read.
  virtual absl::StatusOr<std::optional<trenode::v1::Budget>> Get(const std::string& project_id) = 0;
  // Replaces the project's budget, in one transaction of its own (so that a
  // record of the change in an open storage::OutboxEntry commits with it).
  virtual absl::Status Put(const trenode::v1::Budget& budget) = 0;
};

class MemoryBudgetStore : public BudgetStore {
 public:
  absl::StatusOr<std::optional<trenode::v1::Budget>> Get(const std::string& project_id) override {
    absl::MutexLock lock(&mu_);
    auto found = budgets_.find(project_id);
    if (found == budgets_.end()) return std::nullopt;
    return found->second;
  }
  absl::Status Put(const trenode::v1::Budget& budget) override {
    absl::MutexLock lock(&mu_);
    budgets_[budget.project_id()] = budget;
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, trenode::v1::Budget> budgets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_BUDGET_STORE_H_
