// Charging: the domain of the budget and statement RPCs (spec/charging.md):
// who may see and set a project's budget, and a month's statement of its
// analyses' usage and cost. Knows nothing of gRPC or SQLite. Thread-safe if
// its stores are.
#ifndef TRENODE_NODE_CHARGING_CHARGING_H_
#define TRENODE_NODE_CHARGING_CHARGING_H_

#include <string>

#include "absl/status/statusor.h"
#include "node/auth/principal.h"
#include "node/charging/budget_store.h"
#include "node/charging/charging_admission.h"
#include "node/governance/governance.h"
#include "node/log/event_sink.h"
#include "trenode/v1/governance.pb.h"

namespace trenode::charging {

class Charging {
 public:
  // Everything given must outlive this object; every budget change is
  // recorded in `events` (if given).
  Charging(ChargingAdmission* admission, BudgetStore* budgets, governance::Governance* governance,
           ChargingAdmission::Clock clock = &absl::Now, log::EventSink* events = nullptr)
      : admission_(admission),
        budgets_(budgets),
        governance_(governance),
        clock_(std::move(clock)),
        events_(events) {}

  // The project's budget with this month's committed spending. NotFound or
  // PermissionDenied as Governance::GetProject for a project the caller may
  // not see (researchers: only their own projects). Its committed storage
  // counts unreleased outputs' sizes: rounded up to a whole MiB for all but
  // those who may see them (WithholdsOutputSizes).
  absl::StatusOr<trenode::v1::Budget> GetBudget(const auth::Principal& caller,
                                                const std::string& project_id);
  // Data stewards only (the authorization table, and checked here again).
  // InvalidArgument for a malformed amount, a negative quota or no reason;
  // NotFound for an unknown project. Recorded as "project.budget_set".
  absl::StatusOr<trenode::v1::Budget> SetBudget(const auth::Principal& caller,
                                                const trenode::v1::SetBudgetRequest& request);
  // Every analysis of the project created in the month (UTC) with its usage
  // and cost (its estimate's until it ends), the exact total of the lines,
  // and the budget. Visibility as GetBudget; InvalidArgument for a bad month.
  absl::StatusOr<trenode::v1::ProjectUsage> GetProjectUsage(
      const auth::Principal& caller, const trenode::v1::GetProjectUsageRequest& request);

 private:
  // True unless the caller is an output checker or data steward with no part
  // in the project: those alone see what counts the data (unreleased
  // outputs' sizes, cohort sizes), as they alone see results. Fails closed.
  bool WithholdsOutputSizes(const auth::Principal& caller, const std::string& project_id);
  // Appends the project's storage lines (one per kind of object stored in
  // the month) and its egress line, adding their costs to `total`.
  absl::Status AddStorageLines(const std::string& project_id, const std::string& month,
                               bool withhold, trenode::v1::ProjectUsage* usage, int64_t* total);

  ChargingAdmission* admission_;
  BudgetStore* budgets_;
  governance::Governance* governance_;
  ChargingAdmission::Clock clock_;
  log::EventSink* events_;
};

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_CHARGING_H_
