// The overlap audit (spec/disclosure.md, "Overlap audit"), the classic
// defence against trackers: a cell a release would publish whose persons
// differ from those of a cell already released or waiting for review from
// the same dataset (in any project) by more than none and fewer than the
// policy's overlap_threshold gives away the few persons in between, so it
// goes to an output checker with the finding. Within one release, summary
// and regression cells are compared with every other file's cells too, and
// count cells with each other where no joint suppression audit protects
// them (rounding and cell-key policies). The audit is pairwise: a
// difference that takes three or more cells to form is not found.
#ifndef TRENODE_NODE_RELEASES_OVERLAP_AUDIT_H_
#define TRENODE_NODE_RELEASES_OVERLAP_AUDIT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/releases/ledger_store.h"

namespace trenode::releases {

struct OverlapFinding {
  std::string file, cell;
  std::string other_release, other_file, other_cell;
  int64_t difference = 0;

  // "cell "South West" differs from release R's hf.csv cell "South West" by
  // fewer than 10 persons (3)": for output checkers only.
  std::string Describe(int64_t threshold) const;
};

// Which pairs of one release's own cells are compared.
enum class WithinRelease {
  // Summary and regression cells against every other file's cells: count
  // cells are protected jointly by the suppression audit.
  kMagnitudes,
  // Also count cells of different files (rounding: a file's totals are sums
  // of what it publishes, so pairs within a file tell nothing new).
  kCountsAcrossFiles,
  // Also count cells of the same file (cell_key: every cell and total has
  // noise of its own, so equal persons show as equal values).
  kCountsEverywhere,
};

// Findings for `cells` (one release's, of one dataset) against the
// dataset's standing cells and, as `within` says, each other. `threshold`
// 0: none.
absl::StatusOr<std::vector<OverlapFinding>> AuditOverlap(LedgerStore& ledger,
                                                         const std::string& dataset_id,
                                                         const std::vector<LedgerCell>& cells,
                                                         int64_t threshold, WithinRelease within);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_OVERLAP_AUDIT_H_
