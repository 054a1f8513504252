#include "node/releases/overlap_audit.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::releases {

std::string OverlapFinding::Describe(int64_t threshold) const {
  return absl::StrCat("cell \"", cell, "\" differs from ",
                      other_release.empty() ? "this release's" : absl::StrCat("release ", other_release, "'s"),
                      " ", other_file, " cell \"", other_cell, "\" by fewer than ", threshold,
                      " persons (", difference, ")");
}

absl::StatusOr<std::vector<OverlapFinding>> AuditOverlap(LedgerStore& ledger,
                                                         const std::string& project_id,
                                                         const std::string& dataset_id,
                                                         const std::vector<LedgerCell>& cells,
                                                         int64_t threshold) {
  std::vector<OverlapFinding> findings;
  if (threshold <= 0 || cells.empty()) return findings;
  ASSIGN_OR_RETURN(std::vector<LedgerEntry> released,
                   ledger.Released(project_id, dataset_id, cells.front().release_id));
  auto by_size = [](const LedgerEntry& entry, int64_t size) { return entry.size < size; };
  for (const LedgerCell& cell : cells) {
    const int64_t size = static_cast<int64_t>(cell.persons.size());
    query::Sketch sketch = query::SketchOf(cell.persons);
    // Only cells within the threshold in size can be that close.
    auto it = std::lower_bound(released.begin(), released.end(), size - threshold + 1, by_size);
    for (; it != released.end() && it->size < size + threshold; ++it) {
      if (it->sketch_ok && query::SketchDistanceBelow(sketch, it->sketch, threshold) >= threshold) {
        continue;
      }
      ASSIGN_OR_RETURN(query::PersonSet other, ledger.Persons(it->id));
      int64_t difference = query::SymmetricDifferenceBelow(cell.persons, other, threshold);
      if (difference == 0 || difference >= threshold) continue;
      findings.push_back({cell.file, cell.cell, it->release_id, it->file, it->cell, difference,
                          cell.perturbed && it->perturbed});
    }
  }
  // Within the release: summaries and regressions against the other files.
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].kind == LedgerKind::kCount) continue;
    for (size_t j = 0; j < cells.size(); ++j) {
      const LedgerCell &a = cells[i], &b = cells[j];
      if (a.file == b.file || (b.kind != LedgerKind::kCount && j < i)) continue;
      int64_t difference = query::SymmetricDifferenceBelow(a.persons, b.persons, threshold);
      if (difference == 0 || difference >= threshold) continue;
      findings.push_back({a.file, a.cell, "", b.file, b.cell, difference, false});
    }
  }
  return findings;
}

}  // namespace trenode::releases
