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
                                                         const std::string& dataset_id,
                                                         const std::vector<LedgerCell>& cells,
                                                         int64_t threshold, WithinRelease within) {
  std::vector<OverlapFinding> findings;
  if (threshold <= 0 || cells.empty()) return findings;
  ASSIGN_OR_RETURN(std::vector<LedgerEntry> released,
                   ledger.Standing(dataset_id, cells.front().release_id));
  auto smaller = [](const LedgerEntry& entry, int64_t size) { return entry.size < size; };
  for (const LedgerCell& cell : cells) {
    const int64_t size = static_cast<int64_t>(cell.persons.size());
    // Only cells within the threshold in size can be that close.
    auto it = std::lower_bound(released.begin(), released.end(), size - threshold + 1, smaller);
    if (it == released.end() || it->size >= size + threshold) continue;
    // As recorded when read back from the ledger; computed otherwise.
    const query::Sketch sketch = cell.sketch ? *cell.sketch : query::SketchOf(cell.persons);
    const std::string digest = cell.digest.empty() ? PersonsDigest(cell.persons) : cell.digest;
    for (; it != released.end() && it->size < size + threshold; ++it) {
      // The same persons: no difference, and nothing to read.
      if (digest == it->digest) continue;
      if (it->sketch_ok && query::SketchDistanceBelow(sketch, it->sketch, threshold) >= threshold) {
        continue;
      }
      ASSIGN_OR_RETURN(query::PersonSet other, ledger.Persons(it->id));
      int64_t difference = query::SymmetricDifferenceBelow(cell.persons, other, threshold);
      if (difference == 0 || difference >= threshold) continue;
      findings.push_back({cell.file, cell.cell, it->release_id, it->file, it->cell, difference});
    }
  }
  // Within the release: summaries and regressions against the other files,
  // and counts against each other as `within` says. Cells are taken by size
  // so that only near sizes are compared.
  std::vector<size_t> by_size(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) by_size[i] = i;
  std::sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) {
    return cells[a].persons.size() < cells[b].persons.size();
  });
  for (size_t x = 0; x < by_size.size(); ++x) {
    const LedgerCell& a = cells[by_size[x]];
    for (size_t y = x + 1; y < by_size.size(); ++y) {
      const LedgerCell& b = cells[by_size[y]];
      if (b.persons.size() >= a.persons.size() + threshold) break;
      bool both_counts = a.kind == LedgerKind::kCount && b.kind == LedgerKind::kCount;
      bool compared = both_counts ? (within == WithinRelease::kCountsEverywhere ||
                                     (within == WithinRelease::kCountsAcrossFiles && a.file != b.file))
                                  : a.file != b.file;
      if (!compared) continue;
      int64_t difference = query::SymmetricDifferenceBelow(a.persons, b.persons, threshold);
      if (difference == 0 || difference >= threshold) continue;
      findings.push_back({a.file, a.cell, "", b.file, b.cell, difference});
    }
  }
  return findings;
}

}  // namespace trenode::releases
