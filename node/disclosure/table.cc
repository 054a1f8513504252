#include "node/disclosure/table.h"

namespace trenode::disclosure {

TableVerdict CheckTable(const Table& table, const Policy& policy) {
  TableVerdict verdict;
  verdict.cells.reserve(table.cells.size());
  const size_t columns = table.column_labels.size();
  for (size_t i = 0; i < table.cells.size(); ++i) {
    CellVerdict cell = CheckCell(table.cells[i], policy);
    verdict.verdict = Worse(verdict.verdict, cell.verdict);
    for (const RuleOutcome& outcome : cell.outcomes) {
      verdict.by_rule[outcome.rule].emplace_back(static_cast<int>(i / columns),
                                                 static_cast<int>(i % columns));
    }
    verdict.cells.push_back(std::move(cell));
  }
  return verdict;
}

}  // namespace trenode::disclosure
