#include "node/charging/charging.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "node/analyses/usage_view.h"
#include "node/charging/budget.h"
#include "node/charging/money.h"
#include "node/common/status_macros.h"

namespace trenode::charging {
namespace {

constexpr size_t kMaxReason = 1000;
// The largest CPU quota (about 31,700 CPU-years a month): its micro-seconds
// fit in 64 bits with room to add.
constexpr int64_t kMaxCpuSecondsQuota = 1'000'000'000'000;
// The largest storage quota (2^60 bytes, an exbibyte): sums with it stay
// below 2^63.
constexpr int64_t kMaxStorageBytesQuota = int64_t{1} << 60;

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp stamp;
  stamp.set_seconds(absl::ToUnixSeconds(t));
  stamp.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(stamp.seconds())) /
                                       absl::Nanoseconds(1)));
  return stamp;
}

}  // namespace

absl::StatusOr<trenode::v1::Budget> Charging::GetBudget(const auth::Principal& caller,
                                                        const std::string& project_id) {
  RETURN_IF_ERROR(governance_->GetProject(caller, project_id).status());
  ASSIGN_OR_RETURN(trenode::v1::Budget budget, admission_->BudgetNow(project_id));
  if (WithholdsOutputSizes(caller, project_id)) return WithOutputSizesWithheld(std::move(budget));
  return budget;
}

bool Charging::WithholdsOutputSizes(const auth::Principal& caller,
                                    const std::string& project_id) {
  const bool staff = caller.role == trenode::v1::ROLE_OUTPUT_CHECKER ||
                     caller.role == trenode::v1::ROLE_DATA_STEWARD;
  if (!staff) return true;
  absl::StatusOr<bool> involved =
      governance_->IsInvolved(governance_->PersonId(caller), project_id);
  return !involved.ok() || *involved;
}

absl::StatusOr<trenode::v1::Budget> Charging::SetBudget(
    const auth::Principal& caller, const trenode::v1::SetBudgetRequest& request) {
  if (caller.role != trenode::v1::ROLE_DATA_STEWARD) {
    return absl::PermissionDeniedError("only data stewards set budgets");
  }
  RETURN_IF_ERROR(governance_->GetProject(caller, request.project_id()).status());
  // A steward who leads or belongs to the project may not set its budget.
  RETURN_IF_ERROR(governance_->CheckIndependent(governance_->PersonId(caller),
                                                request.project_id(), "set its budget"));
  ASSIGN_OR_RETURN(int64_t monthly, ParseMoney(request.monthly(), "monthly"));
  if (request.cpu_seconds_quota() < 0 || request.cpu_seconds_quota() > kMaxCpuSecondsQuota) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cpu_seconds_quota: must be 0 (none) or positive, at most ", kMaxCpuSecondsQuota));
  }
  if (request.storage_bytes_quota() < 0 || request.storage_bytes_quota() > kMaxStorageBytesQuota) {
    return absl::InvalidArgumentError(absl::StrCat(
        "storage_bytes_quota: must be 0 (none) or positive, at most ", kMaxStorageBytesQuota));
  }
  if (request.reason().empty() || request.reason().size() > kMaxReason) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: say why the budget changes (1 to ", kMaxReason, " bytes)"));
  }
  trenode::v1::Budget budget;
  budget.set_project_id(request.project_id());
  budget.set_monthly_micros(monthly);
  budget.set_cpu_seconds_quota(request.cpu_seconds_quota());
  budget.set_storage_bytes_quota(request.storage_bytes_quota());
  budget.set_updated_by(governance_->PersonId(caller));
  *budget.mutable_updated() = ToTimestamp(clock_());
  // The budget and its record are stored in one transaction (the record in
  // the log's outbox), as every other change of the node is: no change is
  // ever unlogged, and none is logged that was not made.
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("project.budget_set", absl::StrCat("project/", request.project_id()),
                       request.project_id(),
                       absl::StrCat("monthly ", FormatMoney(monthly), " ",
                                    admission_->prices().currency(), ", cpu quota ",
                                    request.cpu_seconds_quota(), " s, storage quota ",
                                    request.storage_bytes_quota(), " bytes: ",
                                    request.reason())),
      [&] { return budgets_->Put(budget); }));
  return admission_->BudgetNow(request.project_id());
}

absl::Status Charging::AddStorageLines(const std::string& project_id, const std::string& month,
                                       bool withhold, trenode::v1::ProjectUsage* usage,
                                       int64_t* total) {
  StorageLedger* ledger = admission_->storage();
  if (ledger == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto range, MonthRange(month));
  const absl::Time now = clock_();
  const int64_t month_micros = absl::ToInt64Microseconds(range.second - range.first);
  ASSIGN_OR_RETURN(std::vector<StorageInterval> intervals,
                   ledger->IntervalsOf(project_id, range.first, range.second));
  for (StoredKind kind : {StoredKind::kOutput, StoredKind::kReviewCopy,
                          StoredKind::kReleasedCopy, StoredKind::kDataset}) {
    const __int128 byte_micros = ByteMicrosIn(intervals, kind, range.first, range.second, now);
    if (byte_micros == 0) continue;
    trenode::v1::UsageLine* line = usage->add_lines();
    line->set_kind("storage");
    line->set_analysis_id(StoredKindName(kind));
    line->set_submitter("the project");
    // The sizes of outputs not yet released are withheld as output_bytes is
    // (usage_view.h), and so are datasets' file sizes, which only stewards
    // see; released copies are the requester's to see.
    if (!withhold || kind == StoredKind::kReleasedCopy) {
      const __int128 seconds = byte_micros / 1'000'000;
      line->set_stored_byte_seconds(seconds > std::numeric_limits<int64_t>::max()
                                        ? std::numeric_limits<int64_t>::max()
                                        : static_cast<int64_t>(seconds));
    }
    *line->mutable_cost() = admission_->prices().StorageCostOf(
        byte_micros, month_micros, /*datasets=*/kind == StoredKind::kDataset);
    if (withhold && kind != StoredKind::kReleasedCopy) {
      for (auto& cost_line : *line->mutable_cost()->mutable_lines()) cost_line.set_quantity("");
    }
    *total = SaturatingAdd(*total, line->cost().total_micros());
  }
  ASSIGN_OR_RETURN(std::vector<EgressRecord> egress,
                   ledger->EgressOf(project_id, range.first, range.second));
  if (!egress.empty()) {
    int64_t bytes = 0;
    for (const EgressRecord& record : egress) bytes = SaturatingAdd(bytes, record.bytes);
    trenode::v1::UsageLine* line = usage->add_lines();
    line->set_kind("egress");
    line->set_analysis_id(absl::StrCat(egress.size(), " downloads"));
    line->set_submitter("the project");
    line->set_egress_bytes(bytes);
    *line->mutable_cost() = admission_->prices().EgressCostOf(bytes);
    *total = SaturatingAdd(*total, line->cost().total_micros());
  }
  return absl::OkStatus();
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
  // Only the node's output checkers and data stewards who have no part in
  // the project see usage that counts the data, as they alone see results
  // (Analyses::ViewFor); everyone else gets it withheld (usage_view.h). An
  // error reading the project fails closed.
  const std::string person = governance_->PersonId(caller);
  const bool withhold = WithholdsOutputSizes(caller, request.project_id());
  // A researcher sees only their own analyses (spec/analyses.md); the rest
  // of the project's spending is one line, so the total still adds up.
  const bool own_only = caller.role == trenode::v1::ROLE_RESEARCHER;
  trenode::v1::UsageLine others;
  others.set_kind("others");
  others.set_submitter("other members of the project");
  others.mutable_cost()->set_currency(admission_->prices().currency());
  int others_count = 0;
  int64_t total = 0;
  const std::string& currency = admission_->prices().currency();
  for (const trenode::v1::Analysis& analysis : analyses) {
    const ChargeBasis basis = ChargeBasisOf(analysis);
    const trenode::v1::Cost& cost = ChargedCost(analysis);
    if (own_only && analysis.submitter() != person) {
      int64_t charged = cost.total_micros();
      // Colleagues' federated parts elsewhere, where they add up.
      for (const trenode::v1::SiteStatus& site : analysis.sites()) {
        if (site.has_reported_cost() && site.reported_cost().currency() == currency) {
          charged = SaturatingAdd(charged, site.reported_cost().total_micros());
        }
      }
      others.mutable_cost()->set_total_micros(
          SaturatingAdd(others.cost().total_micros(), charged));
      total = SaturatingAdd(total, charged);
      ++others_count;
      continue;
    }
    trenode::v1::UsageLine* line = usage.add_lines();
    line->set_analysis_id(analysis.id());
    line->set_submitter(analysis.submitter());
    line->set_kind(analysis.has_script() ? "script" : "query");
    line->set_state(analysis.state());
    *line->mutable_created() = analysis.created();
    line->set_estimated(basis == ChargeBasis::kEstimate);
    *line->mutable_usage() =
        basis == ChargeBasis::kEstimate ? analysis.estimate().usage() : analysis.usage();
    *line->mutable_cost() = cost;
    // Ended without running: nothing used, nothing charged.
    if (basis == ChargeBasis::kNothing) {
      line->mutable_cost()->set_currency(admission_->prices().currency());
    }
    if (withhold || analysis.submitter() == person) {
      analyses::WithholdDisclosiveUsage(line->mutable_usage());
    }
    total = SaturatingAdd(total, line->cost().total_micros());
    // Each partner's part as that partner reported it, in its currency:
    // in the total only where that is this node's (spec/charging.md).
    for (const trenode::v1::SiteStatus& site : analysis.sites()) {
      if (!site.has_reported_cost()) continue;
      trenode::v1::UsageLine* part = usage.add_lines();
      part->set_analysis_id(analysis.id());
      part->set_submitter(absl::StrCat("reported by ", site.node_id()));
      part->set_kind("site");
      part->set_state(analysis.state());
      *part->mutable_created() = analysis.created();
      *part->mutable_cost() = site.reported_cost();
      part->set_outside_total(site.reported_cost().currency() != currency);
      if (!part->outside_total()) total = SaturatingAdd(total, part->cost().total_micros());
    }
  }
  if (others_count > 0) {
    others.set_analysis_id(absl::StrCat(others_count, " analyses"));
    *usage.add_lines() = std::move(others);
  }
  RETURN_IF_ERROR(AddStorageLines(request.project_id(), month, withhold, &usage, &total));
  usage.set_total_micros(total);
  ASSIGN_OR_RETURN(*usage.mutable_budget(), admission_->BudgetNow(request.project_id()));
  if (withhold) *usage.mutable_budget() = WithOutputSizesWithheld(usage.budget());
  return usage;
}

}  // namespace trenode::charging
