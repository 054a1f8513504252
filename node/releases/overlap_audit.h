// The overlap audit (spec/disclosure.md, "Overlap audit"), the classic
// defence against trackers: a cell a release would publish whose persons
// differ from those of a cell the project already released by more than
// none and fewer than the policy's overlap_threshold gives away the few
// persons in between, so it goes to an output checker with the finding.
// Within one release, summary and regression cells are compared with every
// other file's cells too (linked counts are protected by the joint
// suppression audit instead).
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
  // Both cells were published with cell-key noise: the difference is
  // noise, so it does not stop auto-release.
  bool both_perturbed = false;

  // "cell "South West" differs from release R's hf.csv cell "South West" by
  // fewer than 10 persons (3)": for output checkers only.
  std::string Describe(int64_t threshold) const;
};

// Findings for `cells` (one release's, of one project and dataset) against
// the project's released cells and each other. `threshold` 0: none.
absl::StatusOr<std::vector<OverlapFinding>> AuditOverlap(LedgerStore& ledger,
                                                         const std::string& project_id,
                                                         const std::string& dataset_id,
                                                         const std::vector<LedgerCell>& cells,
                                                         int64_t threshold);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_OVERLAP_AUDIT_H_
