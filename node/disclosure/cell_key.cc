#include "node/disclosure/cell_key.h"

#include <algorithm>

namespace trenode::disclosure {

const std::vector<PTableRow>& StandardPTable() {
  static const auto* table = new std::vector<PTableRow>{
      {1, {-1, 0, 1}, {300000, 400000, 300000}},
      {2, {-2, -1, 0, 1, 2}, {50000, 250000, 400000, 250000, 50000}},
  };
  return *table;
}

int64_t PerturbedCount(int64_t count, uint32_t cell_key, const std::vector<PTableRow>& table) {
  if (count <= 0) return count;
  const PTableRow* row = &table.front();
  for (const PTableRow& candidate : table) {
    if (candidate.from_count <= count) row = &candidate;
  }
  // The key as a fraction of 1, in millionths: the change whose cumulative
  // probability first passes it.
  const int64_t position = static_cast<int64_t>((static_cast<uint64_t>(cell_key) * 1000000) >> 32);
  int64_t cumulative = 0;
  for (size_t i = 0; i < row->change.size(); ++i) {
    cumulative += row->per_million[i];
    if (position < cumulative) return std::max<int64_t>(0, count + row->change[i]);
  }
  return std::max<int64_t>(0, count + row->change.back());
}

}  // namespace trenode::disclosure
