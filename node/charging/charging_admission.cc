#include "node/charging/charging_admission.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/charging/money.h"
#include "node/common/status_macros.h"

namespace trenode::charging {

using trenode::v1::Analysis;

namespace {

constexpr int kPage = 200;
constexpr int64_t kPageBytes = int64_t{16} << 20;

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace

absl::StatusOr<std::vector<Analysis>> ChargingAdmission::AnalysesOf(const std::string& project_id,
                                                                    const std::string& month) {
  ASSIGN_OR_RETURN(auto range, MonthRange(month));
  analyses::AnalysisFilter filter;
  filter.project_id = project_id;
  std::vector<Analysis> found;
  std::string after;
  while (true) {
    bool cut = false;
    ASSIGN_OR_RETURN(std::vector<Analysis> page,
                     analyses_->List(filter, after, kPage, kPageBytes, &cut));
    if (page.empty() || (static_cast<int>(page.size()) < kPage && !cut)) {
      after.clear();  // the last page
    } else {
      after = page.back().id();  // before the page's analyses are moved out
    }
    for (Analysis& analysis : page) {
      absl::Time created = TimeOf(analysis.created());
      if (created >= range.first && created < range.second) found.push_back(std::move(analysis));
    }
    if (after.empty()) break;
  }
  std::sort(found.begin(), found.end(), [](const Analysis& a, const Analysis& b) {
    return TimeOf(a.created()) < TimeOf(b.created());
  });
  return found;
}

ChargingAdmission::Charged ChargingAdmission::ChargedOf(const Analysis& analysis) {
  Charged charged;
  charged.sequence = analysis.sequence();
  charged.created = TimeOf(analysis.created());
  charged.committed = CommittedBy(analysis);
  if (ChargeBasisOf(analysis) == ChargeBasis::kEstimate && !analysis.metering_pending()) {
    charged.held_output_bytes = analysis.estimate().usage().output_bytes();
  }
  return charged;
}

absl::StatusOr<ChargingAdmission::MonthTotals> ChargingAdmission::TotalsOf(
    const std::string& project_id, absl::Time from, absl::Time to) {
  analyses::AnalysisFilter of_project;
  of_project.project_id = project_id;
  ASSIGN_OR_RETURN(auto versions, analyses_->Versions(of_project));
  MonthTotals totals;
  for (const auto& [id, sequence] : versions) {
    std::optional<Charged> charged;
    {
      absl::MutexLock lock(&charged_mu_);
      auto known = charged_.find(id);
      if (known != charged_.end() && known->second.sequence == sequence) charged = known->second;
    }
    if (!charged) {
      // New, or changed since it was last read: read it once more.
      absl::StatusOr<Analysis> analysis = analyses_->Get(id);
      if (absl::IsNotFound(analysis.status())) continue;
      if (!analysis.ok()) return analysis.status();
      charged = ChargedOf(*analysis);
      absl::MutexLock lock(&charged_mu_);
      charged_[id] = *charged;
    }
    if (charged->created < from || charged->created >= to) continue;
    totals.committed.micros = SaturatingAdd(totals.committed.micros, charged->committed.micros);
    totals.committed.cpu_micros =
        SaturatingAdd(totals.committed.cpu_micros, charged->committed.cpu_micros);
    totals.held_output_bytes = SaturatingAdd(totals.held_output_bytes, charged->held_output_bytes);
  }
  return totals;
}

absl::StatusOr<trenode::v1::Budget> ChargingAdmission::BudgetNow(const std::string& project_id) {
  ASSIGN_OR_RETURN(std::optional<trenode::v1::Budget> stored, budgets_->Get(project_id));
  return BudgetWithTotals(project_id, stored.value_or(trenode::v1::Budget()));
}

absl::StatusOr<trenode::v1::Budget> ChargingAdmission::BudgetWithTotals(
    const std::string& project_id, trenode::v1::Budget budget) {
  budget.set_project_id(project_id);
  budget.set_currency(prices_->currency());
  budget.set_month(MonthOf(clock_()));
  ASSIGN_OR_RETURN(auto range, MonthRange(budget.month()));
  ASSIGN_OR_RETURN(MonthTotals month, TotalsOf(project_id, range.first, range.second));
  budget.set_committed_micros(month.committed.micros);
  budget.set_committed_cpu_seconds(month.committed.cpu_micros / 1'000'000);
  // Storage: what is kept now, and the output limit of each analysis that
  // may still write outputs (its estimate's output_bytes).
  int64_t storage = 0;
  if (storage_ != nullptr) {
    ASSIGN_OR_RETURN(storage, storage_->StoredNow(project_id));
  }
  storage = SaturatingAdd(storage, month.held_output_bytes);
  budget.set_committed_storage_bytes(storage);
  return budget;
}

absl::StatusOr<trenode::v1::Estimate> ChargingAdmission::Estimate(const Analysis& analysis) {
  ASSIGN_OR_RETURN(trenode::v1::Estimate estimate,
                   analysis.has_script() ? EstimateScript(analysis) : EstimateQuery(analysis));
  ASSIGN_OR_RETURN(std::optional<trenode::v1::Budget> limits, LimitsOf(analysis.project_id()));
  if (!limits || limits->monthly_micros() <= 0) {
    estimate.set_budget_left_micros(-1);  // no budget: nothing to read
    return estimate;
  }
  ASSIGN_OR_RETURN(trenode::v1::Budget budget,
                   BudgetWithTotals(analysis.project_id(), *std::move(limits)));
  estimate.set_budget_left_micros(
      std::max<int64_t>(0, budget.monthly_micros() - budget.committed_micros()));
  return estimate;
}

absl::StatusOr<std::optional<trenode::v1::Budget>> ChargingAdmission::LimitsOf(
    const std::string& project_id) {
  ASSIGN_OR_RETURN(std::optional<trenode::v1::Budget> stored, budgets_->Get(project_id));
  if (!stored || (stored->monthly_micros() <= 0 && stored->cpu_seconds_quota() <= 0 &&
                  stored->storage_bytes_quota() <= 0)) {
    return std::nullopt;
  }
  return stored;
}

absl::StatusOr<trenode::v1::Estimate> ChargingAdmission::EstimateScript(const Analysis& analysis) {
  trenode::v1::Estimate estimate;
  trenode::v1::Usage* usage = estimate.mutable_usage();
  usage->set_backend(bounds_.backend);
  usage->set_metered_by("estimate");
  // The worst case the limits allow: every CPU it may use for the whole
  // wall-clock limit (or each process's CPU limit, if that is less), its
  // whole memory for as long.
  const int64_t by_wall = SaturatingMul(bounds_.wall_micros, std::max(bounds_.cpus, 1));
  const int64_t by_processes =
      SaturatingMul(bounds_.cpu_micros_per_process, std::max(bounds_.processes, 1));
  usage->set_cpu_micros(std::min(by_wall, by_processes));
  usage->set_wall_micros(bounds_.wall_micros);
  usage->set_peak_memory_bytes(bounds_.memory_bytes);
  usage->set_output_bytes(bounds_.output_bytes);  // what it may keep stored
  *estimate.mutable_cost() = prices_->CostOf(*usage);
  estimate.set_basis(absl::StrFormat(
      "declared limits, the worst case: %d CPU-seconds, %d MiB for %d s on %s",
      usage->cpu_micros() / 1'000'000, bounds_.memory_bytes >> 20,
      bounds_.wall_micros / 1'000'000, bounds_.backend));
  // The same bundle's metered runs in this project.
  analyses::AnalysisFilter filter;
  filter.project_id = analysis.project_id();
  std::string after;
  int runs = 0;
  trenode::v1::Cost most;
  while (true) {
    bool cut = false;
    ASSIGN_OR_RETURN(std::vector<Analysis> page,
                     analyses_->List(filter, after, kPage, kPageBytes, &cut));
    for (const Analysis& past : page) {
      if (!past.has_script() || past.script().bundle_sha256() != analysis.script().bundle_sha256() ||
          !past.has_usage() || past.usage().metered_by() == "none") {
        continue;
      }
      ++runs;
      trenode::v1::Cost cost = prices_->CostOf(past.usage());  // at today's prices
      if (runs == 1 || cost.total_micros() > most.total_micros()) most = cost;
    }
    if (page.empty() || (static_cast<int>(page.size()) < kPage && !cut)) break;
    after = page.back().id();
  }
  estimate.set_past_runs(runs);
  if (runs > 0) {
    *estimate.mutable_past_runs_max() = most;
    absl::StrAppend(estimate.mutable_basis(), "; ", runs, " past run", runs == 1 ? "" : "s",
                    " of this bundle cost at most ", most.total_micros(), " micro-",
                    prices_->currency());
  }
  return estimate;
}

int64_t RoundUpToOneSignificantDigit(int64_t n) {
  if (n <= 0) return 0;
  int64_t unit = 1;
  while (n / unit >= 10) unit *= 10;
  const int64_t lead = (n + unit - 1) / unit;  // 1..10
  return lead * unit;
}

absl::StatusOr<trenode::v1::Estimate> ChargingAdmission::EstimateQuery(const Analysis& analysis) {
  trenode::v1::Estimate estimate;
  trenode::v1::Usage* usage = estimate.mutable_usage();
  usage->set_backend("query");
  usage->set_metered_by("estimate");
  if (analysis.nodes_size() > 0) {
    // The coordinator runs nothing itself: this node's own part is an
    // analysis of its own, estimated and charged when it is submitted, and
    // each partner charges its part against its own project's budget.
    estimate.mutable_cost()->set_currency(prices_->currency());
    estimate.set_basis("federated: each node's part is charged where it runs");
    return estimate;
  }
  if (!rows_) {
    estimate.set_basis("no row estimate: the fee alone");
  } else {
    absl::StatusOr<int64_t> rows = rows_(analysis);
    if (rows.ok()) rows = RoundUpToOneSignificantDigit(*rows);
    if (rows.ok()) {
      usage->set_rows_read(*rows);
      usage->set_cpu_micros(SaturatingMul(*rows, kDefaultQueryNanosPerRow) / 1000);
      estimate.set_basis(absl::StrFormat("planner: %d rows at %d ns of CPU each", *rows,
                                         kDefaultQueryNanosPerRow));
    } else if (absl::IsNotFound(rows.status())) {
      estimate.set_basis(absl::StrCat("no row estimate (", rows.status().message(),
                                      "): the fee alone"));
    } else {
      // A dataset that cannot be read here (changed in the object store,
      // unreachable) fails the run itself, where the node's staff get the
      // detail and the researcher does not; the estimate neither refuses
      // the submission nor passes the detail on.
      estimate.set_basis(
          "no row estimate (the dataset could not be read; the node's staff have the "
          "details): the fee alone");
    }
  }
  *estimate.mutable_cost() = prices_->CostOf(*usage);
  return estimate;
}

absl::Status ChargingAdmission::Admit(const Analysis& analysis,
                                      const trenode::v1::Estimate& estimate) {
  // No limit set: every submission is admitted, without reading the month.
  ASSIGN_OR_RETURN(std::optional<trenode::v1::Budget> limits, LimitsOf(analysis.project_id()));
  if (!limits) return absl::OkStatus();
  ASSIGN_OR_RETURN(trenode::v1::Budget budget,
                   BudgetWithTotals(analysis.project_id(), *std::move(limits)));
  Committed committed{.micros = budget.committed_micros(),
                      .cpu_micros = SaturatingMul(budget.committed_cpu_seconds(), 1'000'000)};
  RETURN_IF_ERROR(CheckBudget(budget, prices_->currency(), budget.month(), committed, estimate));
  return CheckStorageQuota(budget, estimate.usage().output_bytes());
}

absl::Status ChargingAdmission::CheckStorage(const std::string& project_id, int64_t bytes,
                                             absl::string_view what,
                                             absl::string_view needed_for) {
  ASSIGN_OR_RETURN(std::optional<trenode::v1::Budget> limits, LimitsOf(project_id));
  if (!limits || limits->storage_bytes_quota() <= 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(trenode::v1::Budget budget, BudgetWithTotals(project_id, *std::move(limits)));
  return CheckStorageQuota(budget, bytes, what, needed_for);
}

}  // namespace trenode::charging
