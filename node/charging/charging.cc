#include "node/charging/charging.h"

#include "absl/strings/str_cat.h"
#include "node/charging/budget.h"
#include "node/charging/money.h"
#include "node/common/status_macros.h"

namespace trenode::charging {
namespace {

constexpr size_t kMaxReason = 1000;

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp stamp;
  stamp.set_seconds(absl::ToUnixSeconds(t));
  stamp.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(stamp.seconds())) /
                                       absl::Nanoseconds(1)));
  return stamp;
}

bool IsFinal(trenode::v1::AnalysisState state) {
  return state == trenode::v1::ANALYSIS_STATE_SUCCEEDED ||
         state == trenode::v1::ANALYSIS_STATE_FAILED ||
         state == trenode::v1::ANALYSIS_STATE_CANCELLED ||
         state == trenode::v1::ANALYSIS_STATE_REJECTED;
}

}  // namespace

absl::StatusOr<trenode::v1::Budget> Charging::GetBudget(const auth::Principal& caller,
                                                        const std::string& project_id) {
  RETURN_IF_ERROR(governance_->GetProject(caller, project_id).status());
  return admission_->BudgetNow(project_id);
}

absl::StatusOr<trenode::v1::Budget> Charging::SetBudget(
    const auth::Principal& caller, const trenode::v1::SetBudgetRequest& request) {
  if (caller.role != trenode::v1::ROLE_DATA_STEWARD) {
    return absl::PermissionDeniedError("only data stewards set budgets");
  }
  RETURN_IF_ERROR(governance_->GetProject(caller, request.project_id()).status());
  ASSIGN_OR_RETURN(int64_t monthly, ParseMoney(request.monthly(), "monthly"));
  if (request.cpu_seconds_quota() < 0) {
    return absl::InvalidArgumentError("cpu_seconds_quota: must be 0 (none) or positive");
  }
  if (request.reason().empty() || request.reason().size() > kMaxReason) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: say why the budget changes (1 to ", kMaxReason, " bytes)"));
  }
  trenode::v1::Budget budget;
  budget.set_project_id(request.project_id());
  budget.set_monthly_micros(monthly);
  budget.set_cpu_seconds_quota(request.cpu_seconds_quota());
  budget.set_updated_by(governance_->PersonId(caller));
  *budget.mutable_updated() = ToTimestamp(clock_());
  RETURN_IF_ERROR(budgets_->Put(budget));
  if (events_ != nullptr) {
    RETURN_IF_ERROR(events_->Record(
        caller, log::ChangeEvent("project.budget_set", absl::StrCat("project/", request.project_id()),
                                 request.project_id(),
                                 absl::StrCat("monthly ", FormatMoney(monthly), " ",
                                              admission_->prices().currency(), ", cpu quota ",
                                              request.cpu_seconds_quota(), " s: ",
                                              request.reason()))));
  }
  return admission_->BudgetNow(request.project_id());
}

absl::StatusOr<trenode::v1::ProjectUsage> Charging::GetProjectUsage(
    const auth::Principal& caller, const trenode::v1::GetProjectUsageRequest& request) {
  RETURN_IF_ERROR(governance_->GetProject(caller, request.project_id()).status());
  std::string month = request.month().empty() ? MonthOf(clock_()) : request.month();
  RETURN_IF_ERROR(MonthRange(month).status());
  ASSIGN_OR_RETURN(std::vector<trenode::v1::Analysis> analyses,
                   admission_->AnalysesOf(request.project_id(), month));
  trenode::v1::ProjectUsage usage;
  usage.set_project_id(request.project_id());
  usage.set_month(month);
  usage.set_currency(admission_->prices().currency());
  int64_t total = 0;
  for (const trenode::v1::Analysis& analysis : analyses) {
    trenode::v1::UsageLine* line = usage.add_lines();
    line->set_analysis_id(analysis.id());
    line->set_submitter(analysis.submitter());
    line->set_kind(analysis.has_script() ? "script" : "query");
    line->set_state(analysis.state());
    *line->mutable_created() = analysis.created();
    if (analysis.has_cost()) {
      *line->mutable_usage() = analysis.usage();
      *line->mutable_cost() = analysis.cost();
    } else if (!IsFinal(analysis.state())) {
      line->set_estimated(true);
      *line->mutable_usage() = analysis.estimate().usage();
      *line->mutable_cost() = analysis.estimate().cost();
    } else {
      // Ended without running: nothing used, nothing charged.
      *line->mutable_usage() = analysis.usage();
      line->mutable_cost()->set_currency(admission_->prices().currency());
    }
    total += line->cost().total_micros();
  }
  usage.set_total_micros(total);
  ASSIGN_OR_RETURN(*usage.mutable_budget(), admission_->BudgetNow(request.project_id()));
  return usage;
}

}  // namespace trenode::charging
