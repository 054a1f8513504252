// The audit of suppressed cells across linked tables of counts that share one
// population. Every published cell or total of every table, written over the
// cells of the finest joint cross-classification, is an equation "the sum of
// these unknown cells is v"; an attacker who knows the equations and the
// cells' bounds asks what each suppressed published cell (a target: a sum of
// joint cells) can be.
//
// AuditTargets bounds each target by the linear-programming relaxation of
// that question, rounded inwards to integers: every integer solution gives
// the target a value in [low, high]. For a two-way table published with its
// row and column totals (and any other totally unimodular structure) the
// interval is exact. For three or more linked classifications (a three-way
// table with its two-way margins) it can be wider than the integer one, so
// low < high alone proves nothing. `proven_protected` is the proof: it is set
// only when an integer solution giving the target a value other than the
// truth's has been found and checked exactly, in integers, against every
// bound and equation. A target not proven protected may still be protected:
// the search for a second solution is bounded.
//
// Thread safety: AuditTargets is a pure function of its arguments; concurrent
// calls are safe.
#ifndef TRENODE_NODE_DISCLOSURE_LINEAR_AUDIT_H_
#define TRENODE_NODE_DISCLOSURE_LINEAR_AUDIT_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trenode::disclosure {

inline constexpr int64_t kNoUpperBound = -1;
// `TargetBounds::high` of a target with a cell that no equation bounds.
inline constexpr int64_t kUnboundedHigh = std::numeric_limits<int64_t>::max();
// The truth's cells may total at most this: the LP runs in doubles.
inline constexpr int64_t kMaxSystemTotal = int64_t{1} << 40;

struct LinearSystem {
  // Unknown cells 0..lower.size()-1 are integers with
  // 0 <= lower[j] <= x_j <= upper[j]; a negative upper[j] (kNoUpperBound)
  // leaves x_j unbounded above.
  std::vector<int64_t> lower, upper;
  struct Equation {
    std::vector<int> cells;  // distinct
    int64_t value = 0;       // the sum of x over `cells`
  };
  std::vector<Equation> equations;
};

struct TargetBounds {
  int64_t low = 0;   // every integer solution gives the target at least this
  int64_t high = 0;  // ... and at most this (kUnboundedHigh: no bound)
  // An integer solution gives the target a value other than the truth's.
  bool proven_protected = false;
};

// Presolve substitutes out every cell an equation determines; the LP then
// runs on each connected block of what is left that a target touches, in a
// dense tableau of 8 x unknowns x equations bytes for the block.
struct AuditLimits {
  int max_unknowns = 5000;                      // cells still unknown after presolve
  int max_equations = 5000;                     // equations still open after presolve
  absl::Duration max_time = absl::Seconds(10);  // the whole call
  // Tableau entries the search for integer witnesses beyond the LP's
  // vertices may update in the whole call (about a second at the default).
  // Unlike max_time it is deterministic: when it runs out, the remaining
  // targets are simply not proven protected.
  int64_t max_search_work = 1'000'000'000;
};

// For each target (a set of distinct cells, audited as their sum) the bounds
// an attacker can deduce from `system`. `truth` is one integer solution (the
// real cell values), used as the reference value of each target and as the
// base of witnesses.
//
// Fails with InvalidArgument if the system is malformed (bounds, cells out of
// range or repeated, cells totalling more than kMaxSystemTotal), if `truth`
// does not satisfy it, or if a target names an unknown or repeated cell;
// ResourceExhausted naming the limit if the presolved system has more
// unknowns or equations than `limits` allows; DeadlineExceeded if
// limits.max_time passes; Internal if the LP loses the truth to rounding.
// Deterministic: the same arguments give the same answer.
absl::StatusOr<std::vector<TargetBounds>> AuditTargets(const LinearSystem& system,
                                                       const std::vector<int64_t>& truth,
                                                       const std::vector<std::vector<int>>& targets,
                                                       const AuditLimits& limits = {});

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_LINEAR_AUDIT_H_
