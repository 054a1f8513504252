// ChargingAdmission: the node's Admission (node/analyses/admission.h) by
// its price table and each project's budget (spec/charging.md,
// "Estimates" and "Budgets"). Estimates: a query from the planner's row
// estimate of what it reads (the row counts the catalogue keeps for each
// dataset version from ANALYZE at import, through `rows`) at a
// CPU time per row; a script job at its declared limits' worst case, with
// the past metered runs of the same bundle in the project for comparison.
// Admit: the month's committed spending (ended analyses' costs, the
// estimates of those not ended) plus the estimate within the budget and
// CPU quota. Thread-safe if its stores are.
#ifndef TRENODE_NODE_CHARGING_CHARGING_ADMISSION_H_
#define TRENODE_NODE_CHARGING_CHARGING_ADMISSION_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node/analyses/admission.h"
#include "node/analyses/analysis_store.h"
#include "node/charging/budget.h"
#include "node/charging/budget_store.h"
#include "node/charging/prices.h"
#include "node/charging/storage_ledger.h"

namespace trenode::charging {

// What bounds a script job (the node's compute limits).
struct ScriptBounds {
  std::string backend = "sandbox";  // its price table row
  int64_t cpu_micros_per_process = int64_t{600} * 1'000'000;
  int64_t wall_micros = int64_t{1800} * 1'000'000;
  int64_t memory_bytes = int64_t{2} << 30;
  int processes = 64;
  int cpus = 1;  // CPUs a job may use at once
  int64_t output_bytes = int64_t{64} << 20;  // the most its outbox may hold
};

// The CPU time a query is estimated to take per row it reads (a fixed
// rate; not yet learned from this node's metered queries).
inline constexpr int64_t kDefaultQueryNanosPerRow = 2000;

// `n` rounded up to one significant digit (4,321 -> 5,000; 1,000 -> 1,000):
// a query's estimate reads the exact row counts of the dataset's tables,
// which the catalogue shows only as a band, so the estimate a researcher
// sees carries no more than that (never less than the true count).
int64_t RoundUpToOneSignificantDigit(int64_t n);

class ChargingAdmission : public analyses::Admission {
 public:
  // The planner's estimate of the rows a query reads; NotFound if it has
  // none. Null: queries are estimated from their fee alone. Any other
  // error (a dataset that cannot be read) also gives the fee alone, and
  // its message never reaches the estimate.
  using RowEstimate = std::function<absl::StatusOr<int64_t>(const trenode::v1::Analysis&)>;
  using Clock = std::function<absl::Time()>;

  // Everything given must outlive this object.
  ChargingAdmission(const PriceTable* prices, BudgetStore* budgets,
                    analyses::AnalysisStore* analyses, ScriptBounds bounds, RowEstimate rows,
                    Clock clock = &absl::Now)
      : prices_(prices),
        budgets_(budgets),
        analyses_(analyses),
        bounds_(std::move(bounds)),
        rows_(std::move(rows)),
        clock_(std::move(clock)) {}

  absl::StatusOr<trenode::v1::Estimate> Estimate(const trenode::v1::Analysis& analysis) override;
  absl::Status Admit(const trenode::v1::Analysis& analysis,
                     const trenode::v1::Estimate& estimate) override;

  // The project's analyses created in `month` ("YYYY-MM"), oldest first.
  absl::StatusOr<std::vector<trenode::v1::Analysis>> AnalysesOf(const std::string& project_id,
                                                                const std::string& month);
  // The project's budget (an empty one naming it if none was set) with this
  // month's committed spending filled in.
  absl::StatusOr<trenode::v1::Budget> BudgetNow(const std::string& project_id);

  // OK if `bytes` more fit in the project's storage quota now (its
  // BudgetNow's committed storage); ResourceExhausted naming the quota, the
  // bytes used and `bytes`, "needed by this <what> <needed_for>", otherwise.
  absl::Status CheckStorage(const std::string& project_id, int64_t bytes, absl::string_view what,
                            absl::string_view needed_for);

  const PriceTable& prices() const { return *prices_; }

  // Where the project's stored bytes are kept; without it storage is not
  // metered and a storage quota admits everything. Set before use; it
  // must outlive this object.
  void set_storage(StorageLedger* storage) { storage_ = storage; }
  StorageLedger* storage() const { return storage_; }

 private:
  // What one analysis holds against its month, as of one version of it.
  struct Charged {
    int64_t sequence = 0;
    absl::Time created;
    Committed committed;
    int64_t held_output_bytes = 0;  // its output limit, while it may still write
  };
  struct MonthTotals {
    Committed committed;
    int64_t held_output_bytes = 0;
  };
  static Charged ChargedOf(const trenode::v1::Analysis& analysis);
  // The totals of the project's analyses created in [from, to). Each
  // analysis is read only when it is new or has changed (a greater
  // sequence) since it was last read: the rest come from charged_, so a
  // submission reads the project's ids and sequences, not its records.
  absl::StatusOr<MonthTotals> TotalsOf(const std::string& project_id, absl::Time from,
                                       absl::Time to);

  // `budget` (the project's stored one, or an empty one) named and with this
  // month's committed spending filled in: BudgetNow without reading it again.
  absl::StatusOr<trenode::v1::Budget> BudgetWithTotals(const std::string& project_id,
                                                       trenode::v1::Budget budget);

  // The project's stored budget if it sets any limit (monthly cost, CPU or
  // storage quota); nullopt if none is set, when nothing needs the month's
  // committed totals (reading them reads every analysis of the month).
  absl::StatusOr<std::optional<trenode::v1::Budget>> LimitsOf(const std::string& project_id);

  absl::StatusOr<trenode::v1::Estimate> EstimateScript(const trenode::v1::Analysis& analysis);
  absl::StatusOr<trenode::v1::Estimate> EstimateQuery(const trenode::v1::Analysis& analysis);

  const PriceTable* prices_;
  BudgetStore* budgets_;
  analyses::AnalysisStore* analyses_;
  ScriptBounds bounds_;
  RowEstimate rows_;
  Clock clock_;
  StorageLedger* storage_ = nullptr;
  absl::Mutex charged_mu_;
  absl::flat_hash_map<std::string, Charged> charged_ ABSL_GUARDED_BY(charged_mu_);  // by id
};

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_CHARGING_ADMISSION_H_
