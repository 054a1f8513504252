// A table of cells checked together (spec/disclosure.md): rows x columns of
// cells, labelled, without margins (totals are derived, never checked as
// cells), and the verdict of every cell and of the whole.
#ifndef TRENODE_NODE_DISCLOSURE_TABLE_H_
#define TRENODE_NODE_DISCLOSURE_TABLE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "node/disclosure/rules.h"

namespace trenode::disclosure {

struct Table {
  std::vector<std::string> row_labels;
  std::vector<std::string> column_labels;  // one ("count", "value") for a 1-D table
  std::vector<CellFacts> cells;            // row-major
  const CellFacts& at(size_t row, size_t column) const {
    return cells[row * column_labels.size() + column];
  }
};

struct TableVerdict {
  Verdict verdict = Verdict::kPass;
  std::vector<CellVerdict> cells;  // row-major, as the table's
  // rule -> the (row, column) of every cell it did not pass, in order.
  std::map<std::string, std::vector<std::pair<int, int>>> by_rule;
};

TableVerdict CheckTable(const Table& table, const Policy& policy);

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_TABLE_H_
