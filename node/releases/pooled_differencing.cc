#include "node/releases/pooled_differencing.h"

#include <cmath>
#include <map>

namespace trenode::releases {
namespace {
using Row = std::vector<double>;
constexpr double kZero = 1e-9;

// Reduces `row` against `basis` (kept in echelon form, each with its pivot);
// adds what is left as a new basis row. Returns whether it was independent.
bool AddToBasis(std::vector<std::pair<size_t, Row>>& basis, Row row) {
  for (const auto& [pivot, base] : basis) {
    if (std::fabs(row[pivot]) < kZero) continue;
    double factor = row[pivot] / base[pivot];
    for (size_t i = 0; i < row.size(); ++i) row[i] -= factor * base[i];
  }
  for (size_t i = 0; i < row.size(); ++i) {
    if (std::fabs(row[i]) >= kZero) {
      basis.emplace_back(i, std::move(row));
      return true;
    }
  }
  return false;
}

// Whether `row` lies in the span of `basis` (not changing it).
bool InSpan(std::vector<std::pair<size_t, Row>> basis, Row row) {
  return !AddToBasis(basis, std::move(row));
}
}  // namespace

std::vector<std::string> NewlyRevealed(const std::vector<NodeSet>& released,
                                       const NodeSet& candidate,
                                       const NodeSet& protected_nodes) {
  std::map<std::string, size_t> column;
  for (const NodeSet& set : released) {
    for (const std::string& node : set) column.try_emplace(node, column.size());
  }
  for (const std::string& node : candidate) column.try_emplace(node, column.size());
  auto vector_of = [&](const NodeSet& set) {
    Row row(column.size(), 0.0);
    for (const std::string& node : set) row[column.at(node)] = 1.0;
    return row;
  };
  std::vector<std::pair<size_t, Row>> before;
  for (const NodeSet& set : released) AddToBasis(before, vector_of(set));
  std::vector<std::pair<size_t, Row>> after = before;
  AddToBasis(after, vector_of(candidate));
  std::vector<std::string> revealed;
  for (const std::string& node : protected_nodes) {
    auto found = column.find(node);
    if (found == column.end()) continue;
    Row unit(column.size(), 0.0);
    unit[found->second] = 1.0;
    if (InSpan(after, unit) && !InSpan(before, unit)) revealed.push_back(node);
  }
  return revealed;
}

}  // namespace trenode::releases
