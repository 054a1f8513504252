// Budgets (spec/charging.md, "Budgets"): what a project's analyses commit
// in a calendar month (UTC), and whether one more fits. Pure functions;
// thread-safe. Making the check atomic with submission is the caller's
// job (Analyses holds one lock across the check and the record).
#ifndef TRENODE_NODE_CHARGING_BUDGET_H_
#define TRENODE_NODE_CHARGING_BUDGET_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "trenode/v1/analyses.pb.h"
#include "trenode/v1/governance.pb.h"

namespace trenode::charging {

struct Committed {
  int64_t micros = 0;
  int64_t cpu_micros = 0;
};

// "2027-01" for any time in January 2027, UTC.
std::string MonthOf(absl::Time time);
// [start, end) of "YYYY-MM"; InvalidArgument naming the text otherwise.
absl::StatusOr<std::pair<absl::Time, absl::Time>> MonthRange(const std::string& month);

// What one analysis is charged, on its month's statement and against its
// budget: its cost once it has one (kCost); its estimate while it may still
// run (submitted, awaiting approval, approved, queued, running) or while what
// it used before it was cancelled is being metered (kEstimate); nothing once
// it ended without running (rejected, or cancelled before it ran) (kNothing).
enum class ChargeBasis { kCost, kEstimate, kNothing };
ChargeBasis ChargeBasisOf(const trenode::v1::Analysis& analysis);
// The cost charged by that basis (an empty cost for kNothing).
const trenode::v1::Cost& ChargedCost(const trenode::v1::Analysis& analysis);

// What one analysis holds against its month, by ChargeBasisOf.
Committed CommittedBy(const trenode::v1::Analysis& analysis);

// OK if `estimate` fits in what `budget` leaves after `committed` (a limit
// of 0 is no limit). ResourceExhausted otherwise, naming the budget or
// quota, what is left of it, and the estimate with its basis, e.g.
// "project p1's budget of 10.00 GBP for 2027-01 has 3.20 GBP left; this
// analysis is estimated at 5.00 GBP (...)".
absl::Status CheckBudget(const trenode::v1::Budget& budget, const std::string& currency,
                         const std::string& month, const Committed& committed,
                         const trenode::v1::Estimate& estimate);

// OK if `needed` more bytes fit in the budget's storage quota after its
// committed_storage_bytes (a quota of 0 is none), or if nothing is needed.
// ResourceExhausted otherwise, naming the quota (bytes), the bytes used
// (committed) and the bytes needed, both rounded up to whole MiB (they count
// unreleased outputs' sizes, which those who get the message may not see):
// "project p1's storage quota of 1048576 bytes has 2 MiB used ...; this
// analysis needs up to 1 MiB for its outputs ...". `what` names what needs
// them ("analysis", "release r1") and `needed_for` what for.
absl::Status CheckStorageQuota(const trenode::v1::Budget& budget, int64_t needed);
absl::Status CheckStorageQuota(const trenode::v1::Budget& budget, int64_t needed,
                               absl::string_view what, absl::string_view needed_for);

// `bytes` rounded up to whole MiB (0 stays 0): how stored bytes that count
// unreleased outputs are shown to those who may not see output sizes.
int64_t MiBRoundedUp(int64_t bytes);

// `budget` as shown to someone who may not see unreleased outputs' sizes:
// committed_storage_bytes rounded up to a whole MiB (in bytes).
trenode::v1::Budget WithOutputSizesWithheld(trenode::v1::Budget budget);

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_BUDGET_H_
