// Cell-key perturbation (spec/disclosure.md, "Cell-key perturbation"), the
// method of the Australian Bureau of Statistics' TableBuilder and the UK 2021
// census flexible tables: every person has a secret random record key; a
// cell's key is the sum of its persons' keys mod 2^32 (read as a fraction of
// 1); the published count is the true count plus a perturbation looked up
// in a published p-table by (cell key, count). The same set of persons
// always gets the same noise, so repeating or differencing queries cannot
// average it away. Pure functions; thread-safe.
#ifndef TRENODE_NODE_DISCLOSURE_CELL_KEY_H_
#define TRENODE_NODE_DISCLOSURE_CELL_KEY_H_

#include <cstdint>
#include <vector>

namespace trenode::disclosure {

// One row of the p-table: for true counts from `from_count` up (until the
// next row), perturbation `change[i]` with probability `per_million[i]` /
// 1,000,000 (the probabilities of a row sum to one million).
struct PTableRow {
  int64_t from_count;
  std::vector<int64_t> change;
  std::vector<int64_t> per_million;
};

// The node's p-table, published in spec/disclosure.md: counts of 1 move by
// -1, 0 or +1 (0.3, 0.4, 0.3); counts of 2 or more by -2..+2 (0.05, 0.25,
// 0.4, 0.25, 0.05). Every row is unbiased; the variance is 0.6 for 1 and 0.9
// from 2 on. Zero cells hold no persons and are not perturbed.
const std::vector<PTableRow>& StandardPTable();

// The cell key of a set of persons from the sum of their record keys; a
// union of disjoint cells has the sum of their keys.
inline uint32_t CellKeyOf(uint64_t sum_of_record_keys) {
  return static_cast<uint32_t>(sum_of_record_keys);
}

// The published count of a cell of `count` persons with `cell_key`: never
// negative; 0 stays 0.
int64_t PerturbedCount(int64_t count, uint32_t cell_key,
                       const std::vector<PTableRow>& table = StandardPTable());

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_CELL_KEY_H_
