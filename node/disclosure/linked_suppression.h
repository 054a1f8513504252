// Suppression across linked tables (spec/disclosure.md, "Linked tables"):
// counts of one cohort published in several tables (counts by region, by
// region and sex, a crosstab of age by sex) are protected jointly, so that a
// cell suppressed in one cannot be recovered from another's cells or totals.
// Every cell and total of every table is a sum of cells of the finest joint
// cross-classification; the audit (linear_audit.h) bounds each suppressed
// cell against all of them at once, and complementary cells are suppressed
// until every suppressed cell is proven protected.
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

// Adds complementary suppressions (the smallest published cell sharing a
// total or a joint cell with an exposed one; never one below `lower`) until
// the joint audit proves every suppressed cell protected, or gives up
// (complete = false, with why). `lower` is what every suppressed cell is
// known to hold at least (1 where the policy publishes zeros).
// InvalidArgument if the tables do not fit `joint` (cells summing to other
// counts than the tables hold).
absl::StatusOr<LinkedProtection> ProtectLinked(std::vector<LinkedTable>& tables,
                                               const std::vector<int64_t>& joint, int64_t lower,
                                               const AuditLimits& limits = {});

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_LINKED_SUPPRESSION_H_
