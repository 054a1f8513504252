#include "node/disclosure/suppression.h"

#include <algorithm>
#include <limits>
#include <queue>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace trenode::disclosure {
namespace {

constexpr size_t kMaxAuditedCells = 10000;
constexpr int64_t kInfinite = std::numeric_limits<int64_t>::max() / 4;

// Dinic's maximum flow on a small graph.
class MaxFlow {
 public:
  explicit MaxFlow(int nodes) : graph_(nodes), level_(nodes), next_(nodes) {}

  void AddEdge(int from, int to, int64_t capacity) {
    graph_[from].push_back({to, static_cast<int>(graph_[to].size()), capacity});
    graph_[to].push_back({from, static_cast<int>(graph_[from].size()) - 1, 0});
  }

  int64_t Run(int source, int sink) {
    int64_t flow = 0;
    while (Levels(source, sink)) {
      std::fill(next_.begin(), next_.end(), 0);
      while (int64_t pushed = Push(source, sink, kInfinite)) flow += pushed;
    }
    return flow;
  }

 private:
  struct Edge {
    int to, reverse;
    int64_t capacity;
  };

  bool Levels(int source, int sink) {
    std::fill(level_.begin(), level_.end(), -1);
    std::queue<int> queue;
    level_[source] = 0;
    queue.push(source);
    while (!queue.empty()) {
      int node = queue.front();
      queue.pop();
      for (const Edge& e : graph_[node]) {
        if (e.capacity > 0 && level_[e.to] < 0) {
          level_[e.to] = level_[node] + 1;
          queue.push(e.to);
        }
      }
    }
    return level_[sink] >= 0;
  }

  int64_t Push(int node, int sink, int64_t limit) {
    if (node == sink) return limit;
    for (size_t& i = next_[node]; i < graph_[node].size(); ++i) {
      Edge& e = graph_[node][i];
      if (e.capacity <= 0 || level_[e.to] != level_[node] + 1) continue;
      if (int64_t pushed = Push(e.to, sink, std::min(limit, e.capacity))) {
        e.capacity -= pushed;
        graph_[e.to][e.reverse].capacity += pushed;
        return pushed;
      }
    }
    return 0;
  }

  std::vector<std::vector<Edge>> graph_;
  std::vector<int> level_;
  std::vector<size_t> next_;
};

// What an attacker knows: the sums the suppressed cells of each row and
// column must make (totals less the published cells).
struct Residuals {
  std::vector<int64_t> rows, columns;
  int64_t total = 0;
};

// With every suppressed cell at least `lower`, the sums are of each cell's
// excess over it (x - lower >= 0), so the flow below needs no lower bounds.
Residuals ResidualsOf(const Table& table, const std::vector<bool>& suppressed, int64_t lower) {
  const size_t columns = table.column_labels.size();
  Residuals r{std::vector<int64_t>(table.row_labels.size(), 0), std::vector<int64_t>(columns, 0)};
  for (size_t i = 0; i < table.cells.size(); ++i) {
    if (!suppressed[i]) continue;
    int64_t excess = table.cells[i].contributors - lower;
    r.rows[i / columns] += excess;
    r.columns[i % columns] += excess;
    r.total += excess;
  }
  return r;
}

// Can the suppressed cells other than `fixed` take values meeting the
// residual sums when `fixed` holds `value` more than the lower bound?
bool Feasible(const Table& table, const std::vector<bool>& suppressed, const Residuals& residuals,
              Margins margins, size_t fixed, int64_t value) {
  const size_t columns = table.column_labels.size();
  const int rows = static_cast<int>(table.row_labels.size());
  const int source = rows + static_cast<int>(columns), sink = source + 1;
  MaxFlow flow(sink + 1);
  std::vector<int64_t> row_need = residuals.rows, column_need = residuals.columns;
  row_need[fixed / columns] -= value;
  column_need[fixed % columns] -= value;
  // An unpublished total constrains nothing: its side's edges are unbounded,
  // and the flow must meet the other side's totals.
  for (int r = 0; r < rows; ++r) {
    if (margins.rows && row_need[r] < 0) return false;
    flow.AddEdge(source, r, margins.rows ? row_need[r] : kInfinite);
  }
  for (size_t c = 0; c < columns; ++c) {
    if (margins.columns && column_need[c] < 0) return false;
    flow.AddEdge(rows + static_cast<int>(c), sink, margins.columns ? column_need[c] : kInfinite);
  }
  for (size_t i = 0; i < table.cells.size(); ++i) {
    if (suppressed[i] && i != fixed) {
      flow.AddEdge(static_cast<int>(i / columns), rows + static_cast<int>(i % columns), kInfinite);
    }
  }
  return flow.Run(source, sink) == residuals.total - value;
}

absl::Status OutOfTime(const Table& table) {
  return absl::DeadlineExceededError(
      absl::StrCat("suppressing and auditing the table's ", table.cells.size(),
                   " cells did not finish in the time allowed"));
}

}  // namespace

absl::StatusOr<std::vector<std::optional<Interval>>> AuditSuppression(
    const Table& table, const std::vector<bool>& suppressed, Margins margins, int64_t lower,
    absl::Time deadline) {
  if (!margins.rows && !margins.columns) {
    return absl::InvalidArgumentError(
        "suppression protects cells against published totals; "
        "name at least one");
  }
  if (table.cells.size() > kMaxAuditedCells) {
    return absl::FailedPreconditionError(absl::StrCat("the table has ", table.cells.size(),
                                                      " cells; suppression is audited up to ",
                                                      kMaxAuditedCells));
  }
  const size_t columns = table.column_labels.size();
  for (size_t i = 0; i < table.cells.size(); ++i) {
    if (suppressed[i] && table.cells[i].contributors < lower) {
      return absl::InvalidArgumentError(
          absl::StrCat("a suppressed cell holds ", table.cells[i].contributors,
                       ", below the lower bound ", lower, " the audit assumes"));
    }
  }
  Residuals residuals = ResidualsOf(table, suppressed, lower);
  std::vector<std::optional<Interval>> intervals(table.cells.size());
  for (size_t i = 0; i < table.cells.size(); ++i) {
    if (!suppressed[i]) continue;
    if (absl::Now() > deadline) return OutOfTime(table);
    // Searched as the excess over the lower bound, reported as values.
    int64_t value = table.cells[i].contributors - lower;
    int64_t ceiling = std::min(margins.rows ? residuals.rows[i / columns] : residuals.total,
                               margins.columns ? residuals.columns[i % columns] : residuals.total);
    // The feasible values form an interval containing the true one: search
    // each end.
    int64_t low = 0, high = value;  // smallest feasible in [low, high]
    while (low < high) {
      int64_t middle = low + (high - low) / 2;
      if (Feasible(table, suppressed, residuals, margins, i, middle)) {
        high = middle;
      } else {
        low = middle + 1;
      }
    }
    Interval interval;
    interval.low = low + lower;
    low = value, high = ceiling;  // largest feasible in [low, high]
    while (low < high) {
      int64_t middle = high - (high - low) / 2;
      if (Feasible(table, suppressed, residuals, margins, i, middle)) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }
    interval.high = low + lower;
    intervals[i] = interval;
  }
  return intervals;
}

absl::StatusOr<Suppression> Suppress(const Table& table, const TableVerdict& verdict,
                                     Margins margins, int64_t lower, absl::Time deadline) {
  const size_t columns = table.column_labels.size();
  Suppression result;
  result.primary.resize(table.cells.size());
  for (size_t i = 0; i < table.cells.size(); ++i) {
    result.primary[i] = verdict.cells[i].verdict != Verdict::kPass;
  }
  result.suppressed = result.primary;
  while (true) {
    auto intervals = AuditSuppression(table, result.suppressed, margins, lower, deadline);
    if (!intervals.ok()) return intervals.status();
    // The first recoverable cell gets a partner: the smallest published cell
    // in its row or column, which puts it on a cycle of suppressed cells.
    std::optional<size_t> exposed;
    for (size_t i = 0; i < table.cells.size() && !exposed; ++i) {
      if ((*intervals)[i] && (*intervals)[i]->recoverable()) exposed = i;
    }
    if (!exposed) {
      result.intervals = *std::move(intervals);
      return result;
    }
    size_t row = *exposed / columns, column = *exposed % columns;
    std::vector<int> suppressed_in_row(table.row_labels.size()), suppressed_in_column(columns);
    for (size_t i = 0; i < table.cells.size(); ++i) {
      suppressed_in_row[i / columns] += result.suppressed[i];
      suppressed_in_column[i % columns] += result.suppressed[i];
    }
    // Best: a cell of its row whose column already has a suppressed cell (or
    // of its column whose row has one), closing a cycle; then the smallest.
    auto closes_cycle = [&](size_t i) {
      return i / columns == row ? suppressed_in_column[i % columns] > 0
                                : suppressed_in_row[i / columns] > 0;
    };
    // Only a published total links cells: its row if rows are, its column if
    // columns are.
    auto linked = [&](size_t i) {
      return (margins.rows && i / columns == row) || (margins.columns && i % columns == column);
    };
    std::optional<size_t> partner;
    // Never a cell below the bound: the audit assumes none is suppressed.
    auto eligible = [&](size_t i) {
      return !result.suppressed[i] && table.cells[i].contributors >= lower;
    };
    for (size_t i = 0; i < table.cells.size(); ++i) {
      if (!eligible(i) || !linked(i)) continue;
      if (!partner ||
          std::make_pair(!closes_cycle(i), table.cells[i].contributors) <
              std::make_pair(!closes_cycle(*partner), table.cells[*partner].contributors)) {
        partner = i;
      }
    }
    if (!partner) {
      // Its row and column are fully suppressed yet it is exposed: only the
      // grand total can pin it, so suppress the smallest cell anywhere else.
      for (size_t i = 0; i < table.cells.size(); ++i) {
        if (!eligible(i)) continue;
        if (!partner || table.cells[i].contributors < table.cells[*partner].contributors) {
          partner = i;
        }
      }
    }
    if (!partner) {
      return absl::FailedPreconditionError(
          "every cell is suppressed and a cell is still recoverable from the totals");
    }
    result.suppressed[*partner] = true;
  }
}

}  // namespace trenode::disclosure
