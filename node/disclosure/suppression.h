// Cell suppression for a two-way counts table published with its row and
// column totals (spec/disclosure.md, "Suppression"): primary suppression of
// every failing cell, then secondary (complementary) suppression until no
// suppressed cell can be recovered from the published cells and totals, and
// the audit that proves it.
#ifndef TRENODE_NODE_DISCLOSURE_SUPPRESSION_H_
#define TRENODE_NODE_DISCLOSURE_SUPPRESSION_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/disclosure/table.h"

namespace trenode::disclosure {

// The values a suppressed cell could have: every integer in [low, high] is
// consistent with the published cells, the totals and non-negativity.
struct Interval {
  int64_t low = 0;
  int64_t high = 0;
  bool recoverable() const { return low == high; }
};

// Which totals are published with the table: a two-way table has both; a
// list of counts (one row) only its grand total, so columns: false.
struct Margins {
  bool rows = true;
  bool columns = true;
};

// For each cell of `suppressed` (row-major flags over `table`), the exact
// range of values an attacker can deduce from the unsuppressed cells, the
// published totals and the grand total (by max-flow over the bipartite
// graph of suppressed cells), knowing that every suppressed cell holds at
// least `lower` (1 where the policy publishes zeros, so that a suppressed
// cell cannot be empty; else 0). Unset for unsuppressed cells.
// FailedPrecondition for tables of more than 10,000 cells (the audit's cost
// grows with size); InvalidArgument if a suppressed cell is below `lower`;
// DeadlineExceeded if `deadline` passes first.
absl::StatusOr<std::vector<std::optional<Interval>>> AuditSuppression(
    const Table& table, const std::vector<bool>& suppressed, Margins margins = {},
    int64_t lower = 0, absl::Time deadline = absl::InfiniteFuture());

struct Suppression {
  std::vector<bool> primary;                       // failed a rule
  std::vector<bool> suppressed;                    // primary and secondary
  std::vector<std::optional<Interval>> intervals;  // the audit of `suppressed`
};

// Suppresses every cell `verdict` does not pass, then adds the smallest
// complementary cells (never one below `lower`) until the audit, with that
// lower bound, finds no suppressed cell recoverable. DeadlineExceeded if
// `deadline` passes first: the caller leaves the table to a checker.
absl::StatusOr<Suppression> Suppress(const Table& table, const TableVerdict& verdict,
                                     Margins margins = {}, int64_t lower = 0,
                                     absl::Time deadline = absl::InfiniteFuture());

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_SUPPRESSION_H_
