#include "node/charging/sqlite_budget_store.h"

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::charging {

absl::StatusOr<std::optional<trenode::v1::Budget>> SqliteBudgetStore::Get(
    const std::string& project_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(auto select,
                   db->PrepareCached("SELECT record FROM budgets WHERE project_id = ?"));
  select.Bind(1, project_id);
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return std::nullopt;
  trenode::v1::Budget budget;
  if (!budget.ParseFromString(select.Blob(0))) {
    return absl::DataLossError(absl::StrCat("the budget of project ", project_id,
                                            " does not parse"));
  }
  return budget;
}

absl::Status SqliteBudgetStore::Put(const trenode::v1::Budget& budget) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(auto upsert, db->PrepareCached(
                                    "INSERT INTO budgets (project_id, record) VALUES (?, ?) "
                                    "ON CONFLICT (project_id) DO UPDATE SET record = excluded.record"));
  upsert.Bind(1, budget.project_id()).BindBlob(2, budget.SerializeAsString());
  // In a transaction of its own, so that the activity-log record of the
  // change (an open storage::OutboxEntry) commits with it.
  return storage::InTransaction(*db, [&] { return upsert.Run(); });
}

}  // namespace trenode::charging
