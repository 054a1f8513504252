// The linear programs of the linear audit (linear_audit.h): minimize the sum
// of some columns (or its negation) over {x : rows x = rhs, lower <= x <=
// upper}, where every row is a set of columns with coefficient 1. A bounded-
// variable simplex on a dense tableau, in doubles: phase one from artificial
// variables, the primal simplex for objectives (Dantzig's rule, Bland's after
// a run of degenerate pivots until the objective moves again), and the dual
// simplex to recover from bound changes when branching. Pivots let values
// drift; every few pivots, and before an optimum is reported, the vertex is
// checked against the rows and, if it has drifted, the tableau is recomputed
// from them (Gauss-Jordan on the basis).
//
// Thread safety: none; one thread uses a BoundedSimplex at a time. Copies are
// independent (to branch from a solved LP) but share the rows.
#ifndef TRENODE_NODE_DISCLOSURE_BOUNDED_SIMPLEX_H_
#define TRENODE_NODE_DISCLOSURE_BOUNDED_SIMPLEX_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trenode::disclosure {

// Equalities "the sum of x over these columns is rhs".
struct SumRows {
  int columns = 0;
  std::vector<std::vector<int>> rows;  // each: distinct columns
  std::vector<int64_t> rhs;
};

class BoundedSimplex {
 public:
  // Bounds per column: 0 <= lower, upper < 0 for none. `rows` must outlive
  // this and its copies. Every pivot fails with DeadlineExceeded past
  // `deadline`.
  BoundedSimplex(const SumRows& rows, const std::vector<int64_t>& lower,
                 const std::vector<int64_t>& upper, absl::Time deadline);

  // If set, each pivot spends rows x columns of *budget and fails with
  // ResourceExhausted once it is spent.
  void set_work_budget(int64_t* budget) { work_budget_ = budget; }

  // Phase one: a vertex, or false if no x meets the rows and bounds.
  absl::StatusOr<bool> FindVertex();
  // From the current vertex, minimizes sign * (the sum of x over `columns`)
  // and returns the minimum. Internal if rounding loses the vertex.
  absl::StatusOr<double> Minimize(const std::vector<int>& columns, double sign);
  // Replaces a column's bounds; the vertex may need Restore.
  void SetBounds(int column, int64_t lower, int64_t upper);
  // After SetBounds on an optimum of Minimize: the dual simplex, back to a
  // vertex optimal for that objective; false if no x meets the new bounds.
  absl::StatusOr<bool> Restore();

  // x[column] at the current vertex.
  double Value(int column) const;
  // How far a value computed here may be from the exact one.
  double tolerance() const { return tolerance_; }
  // The edge of the current basis along which nonbasic `column` rises, as
  // its smallest integer step: (column, change) pairs d with rows * d = 0.
  // Empty if `column` is basic or that step is implausibly large.
  std::vector<std::pair<int, int64_t>> IntegerEdge(int column) const;

 private:
  double* Row(int row) { return &tableau_[static_cast<size_t>(row) * columns_]; }
  double At(int row, int column) const {
    return tableau_[static_cast<size_t>(row) * columns_ + column];
  }
  absl::Status Spend();
  void Price();
  int ChooseEntering() const;
  double Limit(int row, double alpha) const;
  absl::Status Step(int entering);
  absl::Status Run();
  void Pivot(int row, int column);
  void Enter(int row, int column, double value);
  void DropRows(const std::vector<bool>& drop);
  double Drift() const;
  absl::StatusOr<bool> Freshen();
  bool Refactor();

  const SumRows& sums_;
  int rows_, columns_;
  std::vector<double> tableau_;         // B^-1 A, row-major
  std::vector<double> value_;           // per row: its basic variable, above its lower bound
  std::vector<int> basic_;              // per row: its basic column, or -1: the row's artificial
  std::vector<int> row_of_;             // per column: its row if basic, else -1
  std::vector<bool> at_upper_;          // per nonbasic column
  std::vector<double> lower_, range_;   // per column; range_ may be infinite
  std::vector<double> cost_, reduced_;  // per column
  std::vector<double> rest_;            // per SumRows row: rhs less its columns' lower bounds
  std::vector<double> sign_;            // per SumRows row: its artificial's coefficient
  std::vector<int> pivot_nonzeros_;
  bool phase_one_ = false;
  bool bland_ = false;
  int degenerate_ = 0;
  double tolerance_ = 0, drift_limit_ = 0;
  absl::Time deadline_;
  int64_t* work_budget_ = nullptr;
};

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_BOUNDED_SIMPLEX_H_
