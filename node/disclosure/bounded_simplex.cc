#include "node/disclosure/bounded_simplex.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "node/common/status_macros.h"

namespace trenode::disclosure {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kPivotTolerance = 1e-9;  // smaller tableau entries are not pivoted on
constexpr double kCostTolerance = 1e-9;   // smaller reduced costs count as zero
constexpr double kDropTolerance = 1e-12;  // smaller tableau entries are rounding noise
constexpr double kTieTolerance = 1e-12;   // relative: ratios this close tie
constexpr int kDegeneratePivotsBeforeBland = 50;
constexpr int kPivotsBetweenDriftChecks = 50;
constexpr double kMaxTolerance = 0.25;
constexpr int64_t kMaxEdgeDenominator = 64;
constexpr double kMaxEdgeStep = 1e6;

}  // namespace

BoundedSimplex::BoundedSimplex(const SumRows& sums, const std::vector<int64_t>& lower,
                               const std::vector<int64_t>& upper, absl::Time deadline)
    : sums_(sums),
      rows_(static_cast<int>(sums.rows.size())),
      columns_(sums.columns),
      tableau_(static_cast<size_t>(rows_) * columns_, 0.0),
      value_(rows_),
      basic_(rows_, -1),
      row_of_(columns_, -1),
      at_upper_(columns_, false),
      lower_(columns_),
      range_(columns_),
      cost_(columns_, 0.0),
      reduced_(columns_, 0.0),
      rest_(rows_),
      sign_(rows_),
      deadline_(deadline) {
  for (int j = 0; j < columns_; ++j) {
    lower_[j] = static_cast<double>(lower[j]);
    range_[j] = upper[j] < 0 ? kInfinity : static_cast<double>(upper[j] - lower[j]);
  }
  // With every column at its lower bound, each row's artificial takes up the
  // rest (the row negated if that is negative).
  double scale = 1;
  for (int r = 0; r < rows_; ++r) {
    int64_t rest = sums.rhs[r];
    for (int j : sums.rows[r]) rest -= lower[j];
    rest_[r] = static_cast<double>(rest);
    sign_[r] = rest < 0 ? -1.0 : 1.0;
    for (int j : sums.rows[r]) Row(r)[j] = sign_[r];
    value_[r] = sign_[r] * rest_[r];
    scale = std::max({scale, value_[r], static_cast<double>(sums.rhs[r])});
  }
  tolerance_ = std::min(kMaxTolerance, 1e-7 + 1e-12 * scale);
  drift_limit_ = 1e-9 + 1e-13 * scale;
}

double BoundedSimplex::Value(int column) const {
  const int row = row_of_[column];
  const double above = row >= 0 ? std::clamp(value_[row], 0.0, range_[column])
                                : (at_upper_[column] ? range_[column] : 0.0);
  return lower_[column] + above;
}

absl::Status BoundedSimplex::Spend() {
  if (absl::Now() >= deadline_) {
    return absl::DeadlineExceededError("the linear audit took longer than AuditLimits.max_time");
  }
  if (work_budget_ != nullptr) {
    *work_budget_ -= static_cast<int64_t>(rows_) * columns_;
    if (*work_budget_ < 0) return absl::ResourceExhaustedError("the LP's work budget is spent");
  }
  return absl::OkStatus();
}

void BoundedSimplex::Price() {
  reduced_ = cost_;
  for (int r = 0; r < rows_; ++r) {
    const double cost = basic_[r] < 0 ? (phase_one_ ? 1.0 : 0.0) : cost_[basic_[r]];
    if (cost == 0) continue;
    const double* row = Row(r);
    for (int j = 0; j < columns_; ++j) reduced_[j] -= cost * row[j];
  }
  for (int r = 0; r < rows_; ++r) {
    if (basic_[r] >= 0) reduced_[basic_[r]] = 0;
  }
}

int BoundedSimplex::ChooseEntering() const {
  int best = -1;
  double best_gain = kCostTolerance;
  for (int j = 0; j < columns_; ++j) {
    if (row_of_[j] >= 0 || range_[j] <= 0) continue;
    const double gain = at_upper_[j] ? reduced_[j] : -reduced_[j];  // per unit moved
    if (gain <= best_gain) continue;
    if (bland_) return j;
    best = j;
    best_gain = gain;
  }
  return best;
}

// How far the entering column can move before row's basic variable meets a
// bound, when the variable falls by alpha per unit.
double BoundedSimplex::Limit(int row, double alpha) const {
  if (alpha > 0) return std::max(value_[row], 0.0) / alpha;
  const int column = basic_[row];
  if (column < 0 || range_[column] == kInfinity) return kInfinity;
  return std::max(range_[column] - value_[row], 0.0) / -alpha;
}

// One primal iteration: the ratio test, then a bound flip or a pivot.
absl::Status BoundedSimplex::Step(int entering) {
  RETURN_IF_ERROR(Spend());
  const double direction = at_upper_[entering] ? -1.0 : 1.0;
  double theta = range_[entering];
  for (int r = 0; r < rows_; ++r) {
    const double alpha = direction * At(r, entering);
    if (std::abs(alpha) > kPivotTolerance) theta = std::min(theta, Limit(r, alpha));
  }
  if (theta == kInfinity) return absl::InternalError("the linear audit's LP is unbounded");
  const double tied = theta + kTieTolerance * std::max(1.0, theta);
  const bool flip = range_[entering] <= tied;
  int leave = -1;
  if (flip) {
    theta = range_[entering];
  } else {
    // Among the rows meeting a bound first: the largest pivot, or under
    // Bland's rule the smallest variable (artificials first).
    double best_alpha = 0;
    auto index = [&](int r) { return basic_[r] < 0 ? r - rows_ : basic_[r]; };
    for (int r = 0; r < rows_; ++r) {
      const double alpha = direction * At(r, entering);
      if (std::abs(alpha) <= kPivotTolerance || Limit(r, alpha) > tied) continue;
      if (leave < 0 || (bland_ ? index(r) < index(leave) : std::abs(alpha) > best_alpha)) {
        leave = r;
        best_alpha = std::abs(alpha);
      }
    }
  }
  for (int r = 0; r < rows_; ++r) value_[r] -= theta * direction * At(r, entering);
  if (flip) {
    at_upper_[entering] = !at_upper_[entering];
  } else {
    const double entering_value =
        (at_upper_[entering] ? range_[entering] : 0.0) + direction * theta;
    if (const int leaving = basic_[leave]; leaving >= 0) {
      row_of_[leaving] = -1;
      at_upper_[leaving] = direction * At(leave, entering) < 0;
    }
    Enter(leave, entering, entering_value);
  }
  if (theta <= kPivotTolerance) {
    if (++degenerate_ > kDegeneratePivotsBeforeBland) bland_ = true;
  } else {
    degenerate_ = 0;
    bland_ = false;
  }
  return absl::OkStatus();
}

void BoundedSimplex::Pivot(int row, int column) {
  double* pivot = Row(row);
  const double inverse = 1.0 / pivot[column];
  pivot_nonzeros_.clear();
  for (int k = 0; k < columns_; ++k) {
    if (pivot[k] == 0) continue;
    pivot[k] *= inverse;
    if (std::abs(pivot[k]) < kDropTolerance) {
      pivot[k] = 0;
    } else {
      pivot_nonzeros_.push_back(k);
    }
  }
  pivot[column] = 1.0;
  for (int r = 0; r < rows_; ++r) {
    double* other = Row(r);
    const double factor = other[column];
    if (r == row || factor == 0) continue;
    for (int k : pivot_nonzeros_) {
      const double v = other[k] - factor * pivot[k];
      other[k] = std::abs(v) < kDropTolerance ? 0.0 : v;
    }
    other[column] = 0.0;
  }
  if (const double factor = reduced_[column]; factor != 0) {
    for (int k : pivot_nonzeros_) reduced_[k] -= factor * pivot[k];
    reduced_[column] = 0.0;
  }
}

// Pivots `column` in at `row` (whose variable has already been let go), at
// `value` above its lower bound.
void BoundedSimplex::Enter(int row, int column, double value) {
  Pivot(row, column);
  basic_[row] = column;
  row_of_[column] = row;
  at_upper_[column] = false;
  value_[row] = value;
}

absl::Status BoundedSimplex::Run() {
  Price();
  bool freshly_priced = true;
  bland_ = false;
  degenerate_ = 0;
  for (int pivots = 1;; ++pivots) {
    int entering = ChooseEntering();
    if (entering < 0 || pivots % kPivotsBetweenDriftChecks == 0) {
      ASSIGN_OR_RETURN(const bool refactored, Freshen());
      if (refactored) {
        Price();
        entering = ChooseEntering();
      }
    }
    if (entering < 0) {
      // Updated reduced costs drift too: confirm optimality with fresh ones.
      if (freshly_priced) return absl::OkStatus();
      Price();
      freshly_priced = true;
      continue;
    }
    RETURN_IF_ERROR(Step(entering));
    freshly_priced = false;
  }
}

// The most any row misses its rhs by at the current vertex. (In phase one no
// row has been dropped: an artificial's row is its own.)
double BoundedSimplex::Drift() const {
  double drift = 0;
  for (size_t r = 0; r < sums_.rows.size(); ++r) {
    double sum = 0;
    for (int j : sums_.rows[r]) sum += Value(j);
    if (phase_one_ && basic_[r] < 0) sum += sign_[r] * std::max(value_[r], 0.0);
    drift = std::max(drift, std::abs(sum - static_cast<double>(sums_.rhs[r])));
  }
  return drift;
}

// Refactors if the vertex has drifted off the rows; true if it did.
absl::StatusOr<bool> BoundedSimplex::Freshen() {
  if (Drift() <= drift_limit_) return false;
  if (!Refactor()) return absl::InternalError("the LP's basis became singular in rounding");
  for (int r = 0; r < rows_; ++r) {
    const double range = basic_[r] < 0 ? kInfinity : range_[basic_[r]];
    if (value_[r] < -tolerance_ || value_[r] > range + tolerance_) {
      return absl::InternalError("the LP lost feasibility to rounding");
    }
  }
  return true;
}

// Recomputes the tableau and the basic values from the rows, the basis and
// the nonbasic columns' bounds by Gauss-Jordan elimination with partial
// pivoting. False if the basis is singular. A row whose artificial is basic
// (phase one) pivots on it: the row as built, never added to others.
bool BoundedSimplex::Refactor() {
  const int sum_rows = static_cast<int>(sums_.rows.size());
  std::vector<double> t(static_cast<size_t>(sum_rows) * columns_, 0.0), v(rest_);
  auto row = [&](int r) { return &t[static_cast<size_t>(r) * columns_]; };
  std::vector<int> source(rows_, -1);  // per tableau row: its row of t
  std::vector<bool> used(sum_rows, false);
  for (int r = 0; r < sum_rows; ++r) {
    const bool artificial = phase_one_ && basic_[r] < 0;
    const double sign = artificial ? sign_[r] : 1.0;
    for (int j : sums_.rows[r]) {
      row(r)[j] = sign;
      if (row_of_[j] < 0 && at_upper_[j]) v[r] -= range_[j];
    }
    v[r] *= sign;
    if (artificial) used[source[r] = r] = true;
  }
  for (int r = 0; r < rows_; ++r) {
    const int column = basic_[r];
    if (column < 0) continue;
    int p = -1;
    double best = kPivotTolerance;
    for (int i = 0; i < sum_rows; ++i) {
      if (!used[i] && std::abs(row(i)[column]) > best) {
        p = i;
        best = std::abs(row(i)[column]);
      }
    }
    if (p < 0) return false;
    used[p] = true;
    source[r] = p;
    double* pivot = row(p);
    const double inverse = 1.0 / pivot[column];
    for (int k = 0; k < columns_; ++k) pivot[k] *= inverse;
    v[p] *= inverse;
    for (int i = 0; i < sum_rows; ++i) {
      double* other = row(i);
      const double factor = other[column];
      if (i == p || factor == 0) continue;
      for (int k = 0; k < columns_; ++k) other[k] -= factor * pivot[k];
      other[column] = 0.0;
      v[i] -= factor * v[p];
    }
  }
  for (int r = 0; r < rows_; ++r) {
    std::copy(row(source[r]), row(source[r]) + columns_, Row(r));
    for (int k = 0; k < columns_; ++k) {
      if (std::abs(Row(r)[k]) < kDropTolerance) Row(r)[k] = 0.0;
    }
    value_[r] = v[source[r]];
  }
  return true;
}

void BoundedSimplex::DropRows(const std::vector<bool>& drop) {
  int kept = 0;
  for (int r = 0; r < rows_; ++r) {
    if (drop[r]) continue;
    if (kept != r) {
      std::copy(Row(r), Row(r) + columns_, Row(kept));
      value_[kept] = value_[r];
      basic_[kept] = basic_[r];
    }
    row_of_[basic_[kept]] = kept;
    ++kept;
  }
  rows_ = kept;
  tableau_.resize(static_cast<size_t>(rows_) * columns_);
  value_.resize(rows_);
  basic_.resize(rows_);
}

absl::StatusOr<bool> BoundedSimplex::FindVertex() {
  phase_one_ = true;
  std::fill(cost_.begin(), cost_.end(), 0.0);
  RETURN_IF_ERROR(Run());
  double infeasibility = 0;
  for (int r = 0; r < rows_; ++r) {
    if (basic_[r] < 0) infeasibility += std::max(value_[r], 0.0);
  }
  phase_one_ = false;
  if (infeasibility > tolerance_) return false;
  // Pivot the artificials left (at zero) out; a row without a column to pivot
  // on is implied by the others.
  std::vector<bool> drop(rows_, false);
  for (int r = 0; r < rows_; ++r) {
    if (basic_[r] >= 0) continue;
    int best = -1;
    double best_abs = kPivotTolerance;
    for (int j = 0; j < columns_; ++j) {
      if (row_of_[j] < 0 && std::abs(At(r, j)) > best_abs) {
        best = j;
        best_abs = std::abs(At(r, j));
      }
    }
    if (best < 0) {
      drop[r] = true;
    } else {
      Enter(r, best, at_upper_[best] ? range_[best] : 0.0);
    }
  }
  DropRows(drop);
  RETURN_IF_ERROR(Freshen().status());
  return true;
}

absl::StatusOr<double> BoundedSimplex::Minimize(const std::vector<int>& columns, double sign) {
  std::fill(cost_.begin(), cost_.end(), 0.0);
  for (int j : columns) cost_[j] = sign;
  RETURN_IF_ERROR(Run());
  double objective = 0;
  for (int j : columns) objective += sign * Value(j);
  return objective;
}

void BoundedSimplex::SetBounds(int column, int64_t lower, int64_t upper) {
  const double new_lower = static_cast<double>(lower);
  const double new_range = upper < 0 ? kInfinity : static_cast<double>(upper - lower);
  if (const int row = row_of_[column]; row >= 0) {
    value_[row] += lower_[column] - new_lower;  // the same x, measured from the new bound
  } else {
    const double old_x = lower_[column] + (at_upper_[column] ? range_[column] : 0.0);
    if (new_range == kInfinity) at_upper_[column] = false;
    const double delta = new_lower + (at_upper_[column] ? new_range : 0.0) - old_x;
    if (delta != 0) {
      for (int r = 0; r < rows_; ++r) value_[r] -= At(r, column) * delta;
    }
  }
  lower_[column] = new_lower;
  range_[column] = new_range;
  for (size_t r = 0; r < sums_.rows.size(); ++r) {
    double rest = static_cast<double>(sums_.rhs[r]);
    for (int j : sums_.rows[r]) rest -= lower_[j];
    rest_[r] = rest;
  }
}

absl::StatusOr<bool> BoundedSimplex::Restore() {
  Price();
  while (true) {
    // The basic variable furthest outside its bounds leaves, to that bound.
    int leave = -1;
    bool below = false;
    double worst = tolerance_;
    for (int r = 0; r < rows_; ++r) {
      if (-value_[r] > worst) {
        leave = r;
        worst = -value_[r];
        below = true;
      } else if (value_[r] - range_[basic_[r]] > worst) {
        leave = r;
        worst = value_[r] - range_[basic_[r]];
        below = false;
      }
    }
    if (leave < 0) return true;
    RETURN_IF_ERROR(Spend());
    // The entering column moves the leaving variable the right way and keeps
    // the reduced costs optimal: the smallest |reduced cost / entry|.
    int entering = -1;
    double best_ratio = kInfinity, best_abs = 0;
    for (int j = 0; j < columns_; ++j) {
      if (row_of_[j] >= 0 || range_[j] <= 0) continue;
      const double entry = At(leave, j);
      if (std::abs(entry) <= kPivotTolerance) continue;
      const bool raises = at_upper_[j] ? entry > 0 : entry < 0;
      if (raises != below) continue;
      const double ratio = std::abs(reduced_[j]) / std::abs(entry);
      const double tied = best_ratio + kTieTolerance * std::max(1.0, best_ratio);
      if (ratio < best_ratio - kTieTolerance * std::max(1.0, ratio) ||
          (ratio <= tied && std::abs(entry) > best_abs)) {
        entering = j;
        best_ratio = ratio;
        best_abs = std::abs(entry);
      }
    }
    if (entering < 0) return false;
    const double bound = below ? 0.0 : range_[basic_[leave]];
    const double delta = (value_[leave] - bound) / At(leave, entering);
    for (int r = 0; r < rows_; ++r) value_[r] -= At(r, entering) * delta;
    const double entering_value = (at_upper_[entering] ? range_[entering] : 0.0) + delta;
    row_of_[basic_[leave]] = -1;
    at_upper_[basic_[leave]] = !below;
    Enter(leave, entering, entering_value);
  }
}

std::vector<std::pair<int, int64_t>> BoundedSimplex::IntegerEdge(int column) const {
  if (row_of_[column] >= 0) return {};
  // The edge is rational: scale it by the least common multiple of its
  // entries' denominators.
  int64_t scale = 1;
  for (int r = 0; r < rows_ && scale <= kMaxEdgeDenominator; ++r) {
    const double entry = At(r, column) * static_cast<double>(scale);
    if (std::abs(entry - std::round(entry)) <= kPivotTolerance * scale) continue;
    int64_t denominator = 2;
    while (denominator <= kMaxEdgeDenominator &&
           std::abs(entry * denominator - std::round(entry * denominator)) >
               kPivotTolerance * scale * denominator) {
      ++denominator;
    }
    scale *= denominator;
  }
  if (scale > kMaxEdgeDenominator) return {};
  std::vector<std::pair<int, int64_t>> edge = {{column, scale}};
  for (int r = 0; r < rows_; ++r) {
    const double step = std::round(At(r, column) * static_cast<double>(scale));
    if (std::abs(step) > kMaxEdgeStep) return {};
    if (step != 0) edge.emplace_back(basic_[r], -static_cast<int64_t>(step));
  }
  return edge;
}

}  // namespace trenode::disclosure
