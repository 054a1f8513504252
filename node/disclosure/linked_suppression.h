// Suppression across linked tables (spec/disclosure.md, "Linked tables"):
// counts of one cohort published in one or several tables (counts by region,
// by region and sex, a crosstab of age by sex, two indicators of nested
// criteria) are protected jointly, so that neither a suppressed cell nor a
// small group of persons can be recovered from the tables' cells and
// totals. Every cell and total is a sum of cells of the finest joint
// cross-classification. The attacker is assumed to know which joint cells
// are empty (criteria can make combinations impossible, and the attacker
// wrote the criteria), so empty joint cells are fixed at 0 and the others
// are at least 1. The audit (linear_audit.h) then bounds every suppressed
// non-empty cell and every joint cell of 1 to `small` - 1 persons, and
// complementary cells are suppressed until each is proven protected.
#ifndef TRENODE_NODE_DISCLOSURE_LINKED_SUPPRESSION_H_
#define TRENODE_NODE_DISCLOSURE_LINKED_SUPPRESSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/disclosure/linear_audit.h"

namespace trenode::disclosure {

struct LinkedTable {
  std::vector<int64_t> counts;             // the table's cells, without totals
  std::vector<std::vector<int>> preimage;  // each cell's joint cells
  // Each published total, as the table's cells it sums (a list: one, all
  // cells; a crosstab: each row, each column, and all).
  std::vector<std::vector<int>> totals;
  // In: what each table's own protection suppressed. Out: the joint pattern.
  std::vector<bool> suppressed;
};

struct LinkedProtection {
  // Every suppressed cell is proven protected against every table.
  bool complete = false;
  // Why not, when not: for the checker.
  std::string why;
  int added = 0;  // complementary cells suppressed across tables
};

// Adds complementary suppressions (the smallest published non-empty cell
// sharing a total with an exposed cell or containing an exposed joint cell)
// until the joint audit proves every target protected, or gives up
// (complete = false, with why). InvalidArgument if the tables do not fit
// `joint` (cells summing to other counts than the tables hold).
absl::StatusOr<LinkedProtection> ProtectLinked(std::vector<LinkedTable>& tables,
                                               const std::vector<int64_t>& joint, int64_t small,
                                               const AuditLimits& limits = {});

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_LINKED_SUPPRESSION_H_
