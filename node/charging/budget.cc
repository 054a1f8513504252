#include "node/charging/budget.h"

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/charging/money.h"

namespace trenode::charging {

using trenode::v1::Analysis;

std::string MonthOf(absl::Time time) {
  return absl::FormatTime("%Y-%m", time, absl::UTCTimeZone());
}

absl::StatusOr<std::pair<absl::Time, absl::Time>> MonthRange(const std::string& month) {
  int year = 0, number = 0;
  if (month.size() != 7 || month[4] != '-' || !absl::SimpleAtoi(month.substr(0, 4), &year) ||
      !absl::SimpleAtoi(month.substr(5, 2), &number) || number < 1 || number > 12 || year < 1970) {
    return absl::InvalidArgumentError(
        absl::StrCat("month: \"", month, "\" is not a month such as 2027-01"));
  }
  absl::CivilMonth start(year, number);
  return std::make_pair(absl::FromCivil(start, absl::UTCTimeZone()),
                        absl::FromCivil(start + 1, absl::UTCTimeZone()));
}

ChargeBasis ChargeBasisOf(const Analysis& analysis) {
  if (analysis.has_cost()) return ChargeBasis::kCost;
  switch (analysis.state()) {
    case trenode::v1::ANALYSIS_STATE_SUBMITTED:
    case trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL:
    case trenode::v1::ANALYSIS_STATE_APPROVED:
    case trenode::v1::ANALYSIS_STATE_QUEUED:
    case trenode::v1::ANALYSIS_STATE_RUNNING:
      return ChargeBasis::kEstimate;
    default:
      // Cancelled while it ran: the estimate holds until it is metered.
      return analysis.metering_pending() ? ChargeBasis::kEstimate : ChargeBasis::kNothing;
  }
}

const trenode::v1::Cost& ChargedCost(const Analysis& analysis) {
  switch (ChargeBasisOf(analysis)) {
    case ChargeBasis::kCost:
      return analysis.cost();
    case ChargeBasis::kEstimate:
      return analysis.estimate().cost();
    case ChargeBasis::kNothing:
      break;
  }
  return trenode::v1::Cost::default_instance();
}

Committed CommittedBy(const Analysis& analysis) {
  Committed committed;
  committed.micros = ChargedCost(analysis).total_micros();
  switch (ChargeBasisOf(analysis)) {
    case ChargeBasis::kCost:
      committed.cpu_micros = analysis.usage().cpu_micros();
      break;
    case ChargeBasis::kEstimate:
      committed.cpu_micros = analysis.estimate().usage().cpu_micros();
      break;
    case ChargeBasis::kNothing:
      break;
  }
  return committed;
}

absl::Status CheckBudget(const trenode::v1::Budget& budget, const std::string& currency,
                         const std::string& month, const Committed& committed,
                         const trenode::v1::Estimate& estimate) {
  const int64_t cost = estimate.cost().total_micros();
  if (budget.monthly_micros() > 0 &&
      SaturatingAdd(committed.micros, cost) > budget.monthly_micros()) {
    int64_t left = std::max<int64_t>(0, budget.monthly_micros() - committed.micros);
    return absl::ResourceExhaustedError(absl::StrCat(
        "project ", budget.project_id(), "'s budget of ", FormatMoney(budget.monthly_micros()),
        " ", currency, " for ", month, " has ", FormatMoney(left), " ", currency,
        " left; this analysis is estimated at ", FormatMoney(cost), " ", currency, " (",
        estimate.basis(),
        "); lower its limits, or ask a data steward to raise the budget (trectl project budget)"));
  }
  const int64_t cpu = estimate.usage().cpu_micros();
  const int64_t quota_micros = SaturatingMul(budget.cpu_seconds_quota(), 1'000'000);
  if (budget.cpu_seconds_quota() > 0 && SaturatingAdd(committed.cpu_micros, cpu) > quota_micros) {
    int64_t left = std::max<int64_t>(0, quota_micros - committed.cpu_micros);
    return absl::ResourceExhaustedError(absl::StrFormat(
        "project %s's CPU quota of %d CPU-seconds for %s has %.1f CPU-seconds left; this "
        "analysis may use %.1f CPU-seconds (%s); lower its limits, or ask a data steward to "
        "raise the quota",
        budget.project_id(), budget.cpu_seconds_quota(), month, left / 1e6, cpu / 1e6,
        estimate.basis()));
  }
  return absl::OkStatus();
}

absl::Status CheckStorageQuota(const trenode::v1::Budget& budget, int64_t needed) {
  return CheckStorageQuota(budget, needed, "analysis",
                           "for its outputs (the node's output limit)");
}

absl::Status CheckStorageQuota(const trenode::v1::Budget& budget, int64_t needed,
                               absl::string_view what, absl::string_view needed_for) {
  const int64_t quota = budget.storage_bytes_quota();
  const int64_t used = std::max<int64_t>(budget.committed_storage_bytes(), 0);
  // An analysis that keeps nothing (a query: its result is in its record)
  // is never refused for storage, even once a quota is lowered below use.
  if (needed <= 0 || quota <= 0 || SaturatingAdd(used, needed) <= quota) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrFormat(
      "project %s's storage quota of %d bytes has %d MiB used or held for analyses still to "
      "run; this %s needs up to %d MiB %s (both rounded up to whole MiB); "
      "ask a data steward to raise the quota (trectl project budget --storage-bytes)",
      budget.project_id(), quota, MiBRoundedUp(used) >> 20, what, MiBRoundedUp(needed) >> 20,
      needed_for));
}

int64_t MiBRoundedUp(int64_t bytes) {
  constexpr int64_t kMiB = int64_t{1} << 20;
  if (bytes <= 0) return 0;
  if (bytes > std::numeric_limits<int64_t>::max() - kMiB) return bytes;
  return (bytes + kMiB - 1) / kMiB * kMiB;
}

trenode::v1::Budget WithOutputSizesWithheld(trenode::v1::Budget budget) {
  budget.set_committed_storage_bytes(MiBRoundedUp(budget.committed_storage_bytes()));
  return budget;
}

}  // namespace trenode::charging
