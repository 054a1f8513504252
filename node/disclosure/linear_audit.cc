#include "node/disclosure/linear_audit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "node/common/status_macros.h"
#include "node/disclosure/bounded_simplex.h"

namespace trenode::disclosure {
namespace {

constexpr int kNodesPerSearch = 200;  // branch-and-bound nodes per search

int64_t SaturatingAdd(int64_t a, int64_t b) {  // both non-negative
  return a > kUnboundedHigh - b ? kUnboundedHigh : a + b;
}

// --- Validation -------------------------------------------------------------

absl::Status CheckCells(const std::vector<int>& cells, size_t unknowns, size_t stamp,
                        std::vector<size_t>& seen, const std::string& what) {
  for (int cell : cells) {
    if (cell < 0 || static_cast<size_t>(cell) >= unknowns) {
      return absl::InvalidArgumentError(absl::StrCat(what, " names cell ", cell, " of ", unknowns));
    }
    if (seen[cell] == stamp) {
      return absl::InvalidArgumentError(absl::StrCat(what, " names cell ", cell, " twice"));
    }
    seen[cell] = stamp;
  }
  return absl::OkStatus();
}

absl::Status Validate(const LinearSystem& system, const std::vector<int64_t>& truth,
                      const std::vector<std::vector<int>>& targets) {
  const size_t unknowns = system.lower.size();
  if (system.upper.size() != unknowns || truth.size() != unknowns) {
    return absl::InvalidArgumentError(absl::StrCat("lower, upper and truth have ", unknowns, ", ",
                                                   system.upper.size(), " and ", truth.size(),
                                                   " cells; they must agree"));
  }
  int64_t total = 0;
  for (size_t j = 0; j < unknowns; ++j) {
    const int64_t lower = system.lower[j], upper = system.upper[j];
    if (lower < 0) {
      return absl::InvalidArgumentError(absl::StrCat("cell ", j, " has lower bound ", lower));
    }
    if (upper >= 0 && upper < lower) {
      return absl::InvalidArgumentError(
          absl::StrCat("cell ", j, " has upper bound ", upper, " below its lower bound ", lower));
    }
    if (truth[j] < lower || (upper >= 0 && truth[j] > upper)) {
      return absl::InvalidArgumentError(absl::StrCat("the truth gives cell ", j, " the value ",
                                                     truth[j], ", outside its bounds"));
    }
    if (truth[j] > kMaxSystemTotal - total) {
      return absl::InvalidArgumentError(
          absl::StrCat("the truth's cells total more than ", kMaxSystemTotal));
    }
    total += truth[j];
  }
  std::vector<size_t> seen(unknowns, 0);
  size_t stamp = 0;
  for (size_t e = 0; e < system.equations.size(); ++e) {
    const LinearSystem::Equation& equation = system.equations[e];
    RETURN_IF_ERROR(
        CheckCells(equation.cells, unknowns, ++stamp, seen, absl::StrCat("equation ", e)));
    int64_t sum = 0;  // at most the truth's total: no overflow
    for (int cell : equation.cells) sum += truth[cell];
    if (sum != equation.value) {
      return absl::InvalidArgumentError(absl::StrCat("the truth does not satisfy equation ", e,
                                                     ": its cells sum to ", sum, ", not ",
                                                     equation.value));
    }
  }
  for (size_t t = 0; t < targets.size(); ++t) {
    RETURN_IF_ERROR(CheckCells(targets[t], unknowns, ++stamp, seen, absl::StrCat("target ", t)));
  }
  return absl::OkStatus();
}

// --- Presolve ---------------------------------------------------------------

// The system with every cell an equation determines substituted out: an
// equation with one unknown cell fixes it, and one whose value is the sum of
// its unknown cells' lower bounds fixes them all there; to a fixpoint.
struct Presolved {
  std::vector<bool> fixed;                     // per cell (at its truth)
  std::vector<std::vector<int>> equations_of;  // per cell
  std::vector<int64_t> residual;               // per equation: value less its fixed cells
  std::vector<bool> open;                      // per equation: has an unfixed cell
};

absl::StatusOr<Presolved> Presolve(const LinearSystem& system, const std::vector<int64_t>& truth) {
  const size_t unknowns = system.lower.size(), equations = system.equations.size();
  Presolved p;
  p.fixed.assign(unknowns, false);
  p.equations_of.resize(unknowns);
  p.residual.resize(equations);
  std::vector<int> unfixed(equations, 0);
  std::vector<int64_t> unfixed_lower(equations, 0);  // at most the truth's total
  for (size_t e = 0; e < equations; ++e) {
    p.residual[e] = system.equations[e].value;
    for (int cell : system.equations[e].cells) {
      p.equations_of[cell].push_back(static_cast<int>(e));
      ++unfixed[e];
      unfixed_lower[e] += system.lower[cell];
    }
  }
  std::vector<int> pending;
  auto fix = [&](int cell, int64_t value) -> absl::Status {
    if (value != truth[cell]) {  // a deduction contradicting a verified solution
      return absl::InternalError(absl::StrCat("presolve deduced ", value, " for cell ", cell,
                                              ", whose truth is ", truth[cell]));
    }
    p.fixed[cell] = true;
    for (int e : p.equations_of[cell]) {
      p.residual[e] -= value;
      --unfixed[e];
      unfixed_lower[e] -= system.lower[cell];
      pending.push_back(e);
    }
    return absl::OkStatus();
  };
  for (size_t j = 0; j < unknowns; ++j) {
    if (system.upper[j] == system.lower[j]) RETURN_IF_ERROR(fix(static_cast<int>(j), truth[j]));
  }
  for (size_t e = 0; e < equations; ++e) pending.push_back(static_cast<int>(e));
  while (!pending.empty()) {
    const int e = pending.back();
    pending.pop_back();
    if (unfixed[e] == 0) continue;
    const bool single = unfixed[e] == 1;
    if (!single && p.residual[e] != unfixed_lower[e]) continue;
    const int64_t residual = p.residual[e];
    for (int cell : system.equations[e].cells) {
      if (!p.fixed[cell]) RETURN_IF_ERROR(fix(cell, single ? residual : system.lower[cell]));
    }
  }
  p.open.resize(equations);
  for (size_t e = 0; e < equations; ++e) p.open[e] = unfixed[e] > 0;
  return p;
}

// A connected block of the presolved system: unfixed cells linked by open
// equations, numbered locally (columns for cells, rows for equations).
struct Block {
  std::vector<int> cells;             // per column, ascending
  SumRows sums;                       // the open equations less their fixed cells
  std::vector<int64_t> lower, upper;  // per column
};

struct Blocks {
  std::vector<Block> blocks;
  std::vector<int> block_of;   // per cell; -1 if fixed or in no equation
  std::vector<int> column_of;  // per cell in a block
};

Blocks FindBlocks(const LinearSystem& system, const Presolved& p) {
  const size_t unknowns = system.lower.size();
  std::vector<int> parent(unknowns);
  std::iota(parent.begin(), parent.end(), 0);
  auto root = [&](int cell) {
    while (parent[cell] != cell) cell = parent[cell] = parent[parent[cell]];
    return cell;
  };
  for (size_t e = 0; e < system.equations.size(); ++e) {
    int first = -1;
    for (int cell : system.equations[e].cells) {
      if (p.fixed[cell]) continue;
      if (first < 0) {
        first = root(cell);
      } else {
        parent[root(cell)] = first;
      }
    }
  }
  Blocks b;
  b.block_of.assign(unknowns, -1);
  b.column_of.assign(unknowns, -1);
  std::vector<int> block_of_root(unknowns, -1);
  for (size_t j = 0; j < unknowns; ++j) {
    if (p.fixed[j] || p.equations_of[j].empty()) continue;
    int& id = block_of_root[root(static_cast<int>(j))];
    if (id < 0) {
      id = static_cast<int>(b.blocks.size());
      b.blocks.emplace_back();
    }
    Block& block = b.blocks[id];
    b.block_of[j] = id;
    b.column_of[j] = static_cast<int>(block.cells.size());
    block.cells.push_back(static_cast<int>(j));
    ++block.sums.columns;
    block.lower.push_back(system.lower[j]);
    block.upper.push_back(system.upper[j]);
  }
  for (size_t e = 0; e < system.equations.size(); ++e) {
    if (!p.open[e]) continue;
    std::vector<int> columns;
    int id = -1;
    for (int cell : system.equations[e].cells) {
      if (p.fixed[cell]) continue;
      id = b.block_of[cell];
      columns.push_back(b.column_of[cell]);
    }
    b.blocks[id].sums.rows.push_back(std::move(columns));
    b.blocks[id].sums.rhs.push_back(p.residual[e]);
  }
  return b;
}

// --- The audit --------------------------------------------------------------

// One target's cells in one block, and their sum in the truth.
struct Part {
  int block = -1;
  std::vector<int> columns;
  int64_t truth = 0;
  int64_t low = 0, high = 0;
};

// A search for a witness ends quietly on anything but the deadline.
absl::StatusOr<bool> GiveUp(const absl::Status& status) {
  if (absl::IsDeadlineExceeded(status)) return status;
  return false;
}

class Auditor {
 public:
  Auditor(const LinearSystem& system, const std::vector<int64_t>& truth, Presolved presolved,
          Blocks blocks, absl::Time deadline, int64_t search_work)
      : system_(system),
        truth_(truth),
        presolved_(std::move(presolved)),
        blocks_(std::move(blocks)),
        lps_(blocks_.blocks.size()),
        deadline_(deadline),
        search_work_(search_work) {}

  // `later` targets follow this one and will share the search budget left.
  absl::StatusOr<TargetBounds> Audit(const std::vector<int>& target, size_t later);

 private:
  using Changes = std::vector<std::pair<int, int64_t>>;  // (cell, value), ascending cells

  absl::StatusOr<BoundedSimplex*> Lp(int block);
  absl::Status Bound(Part& part, bool& witnessed);
  bool StillSolves(const Changes& changes) const;
  bool VertexWitness(const BoundedSimplex& lp, const Part& part) const;
  bool EdgeWitness(const BoundedSimplex& lp, const Part& part) const;
  absl::StatusOr<bool> Search(const Part& part, bool below, int64_t& budget);

  const LinearSystem& system_;
  const std::vector<int64_t>& truth_;
  const Presolved presolved_;
  const Blocks blocks_;
  std::vector<std::unique_ptr<BoundedSimplex>> lps_;  // per block, once used
  const absl::Time deadline_;
  int64_t search_work_;  // left for searches, in tableau entries updated
};

absl::StatusOr<BoundedSimplex*> Auditor::Lp(int block) {
  if (lps_[block] == nullptr) {
    const Block& b = blocks_.blocks[block];
    auto lp = std::make_unique<BoundedSimplex>(b.sums, b.lower, b.upper, deadline_);
    ASSIGN_OR_RETURN(bool feasible, lp->FindVertex());
    if (!feasible) return absl::InternalError("the LP lost the truth (a solution) to rounding");
    lps_[block] = std::move(lp);
  }
  return lps_[block].get();
}

// Whether the truth with `changes` applied is still a solution, checked
// exactly: the changed cells within their bounds and every equation holding
// one summing to its value (the truth satisfies the others).
bool Auditor::StillSolves(const Changes& changes) const {
  std::vector<int> equations;
  for (const auto& [cell, value] : changes) {
    if (value < system_.lower[cell] || value > kMaxSystemTotal) return false;
    if (system_.upper[cell] >= 0 && value > system_.upper[cell]) return false;
    const std::vector<int>& of = presolved_.equations_of[cell];
    equations.insert(equations.end(), of.begin(), of.end());
  }
  std::sort(equations.begin(), equations.end());
  equations.erase(std::unique(equations.begin(), equations.end()), equations.end());
  for (int e : equations) {
    const LinearSystem::Equation& equation = system_.equations[e];
    int64_t sum = 0;
    for (int cell : equation.cells) {
      auto it = std::lower_bound(changes.begin(), changes.end(), std::make_pair(cell, int64_t{0}),
                                 [](const auto& a, const auto& b) { return a.first < b.first; });
      sum += it != changes.end() && it->first == cell ? it->second : truth_[cell];
      if (sum > equation.value) return false;  // so no overflow
    }
    if (sum != equation.value) return false;
  }
  return true;
}

// Whether the LP's current vertex of the part's block is integral, gives the
// part a value other than the truth's, and (checked exactly) solves the system.
bool Auditor::VertexWitness(const BoundedSimplex& lp, const Part& part) const {
  const Block& block = blocks_.blocks[part.block];
  std::vector<int64_t> rounded(block.cells.size());
  Changes changes;
  for (size_t j = 0; j < block.cells.size(); ++j) {
    const double value = lp.Value(static_cast<int>(j));
    const double nearest = std::round(value);
    if (!(std::abs(value - nearest) <= lp.tolerance()) || nearest < 0 ||
        nearest > static_cast<double>(kMaxSystemTotal)) {
      return false;
    }
    rounded[j] = static_cast<int64_t>(nearest);
    if (rounded[j] != truth_[block.cells[j]]) changes.emplace_back(block.cells[j], rounded[j]);
  }
  int64_t sum = 0;
  for (int j : part.columns) sum += rounded[j];
  return sum != part.truth && StillSolves(changes);
}

// Whether one step from the truth along an edge of the LP's current basis
// (scaled to be integral) changes the part and, checked exactly, solves the
// system. In totally unimodular structures these steps are the integer moves
// (swaps around cycles of cells); elsewhere they often suffice.
bool Auditor::EdgeWitness(const BoundedSimplex& lp, const Part& part) const {
  const Block& block = blocks_.blocks[part.block];
  std::vector<bool> in_part(block.cells.size(), false);
  for (int j : part.columns) in_part[j] = true;
  for (size_t j = 0; j < block.cells.size(); ++j) {
    const std::vector<std::pair<int, int64_t>> edge = lp.IntegerEdge(static_cast<int>(j));
    int64_t change = 0;
    for (const auto& [column, step] : edge) change += in_part[column] ? step : 0;
    if (change == 0) continue;
    for (const int64_t sign : {1, -1}) {
      Changes changes;
      for (const auto& [column, step] : edge) {
        const int cell = block.cells[column];
        changes.emplace_back(cell, truth_[cell] + sign * step);
      }
      std::sort(changes.begin(), changes.end());
      if (StillSolves(changes)) return true;
    }
  }
  return false;
}

// LP bounds of the part into part.low / part.high; sets `witnessed` if an
// optimal vertex, or a step from the truth along an edge, is a witness.
absl::Status Auditor::Bound(Part& part, bool& witnessed) {
  ASSIGN_OR_RETURN(BoundedSimplex * lp, Lp(part.block));
  ASSIGN_OR_RETURN(const double min, lp->Minimize(part.columns, 1.0));
  witnessed = witnessed || VertexWitness(*lp, part);
  ASSIGN_OR_RETURN(const double negated_max, lp->Minimize(part.columns, -1.0));
  witnessed = witnessed || VertexWitness(*lp, part);
  const double max = -negated_max;
  part.low = static_cast<int64_t>(std::ceil(min - lp->tolerance()));
  part.high = static_cast<int64_t>(std::floor(max + lp->tolerance()));
  if (part.low > part.truth || part.high < part.truth) {
    return absl::InternalError(absl::StrCat("the LP bounds a target's part by [", min, ", ", max,
                                            "], excluding the truth's ", part.truth));
  }
  witnessed = witnessed || (part.low < part.high && EdgeWitness(*lp, part));
  return absl::OkStatus();
}

// Depth-first branch and bound for an integer solution giving the part a
// value below (or above) the truth's: each node is the block's LP, optimal
// for the part, with tighter bounds restored by the dual simplex. False when
// the nodes or `budget` (tableau entries updated or copied) run out first.
absl::StatusOr<bool> Auditor::Search(const Part& part, bool below, int64_t& budget) {
  const Block& block = blocks_.blocks[part.block];
  const int64_t copy_cost = static_cast<int64_t>(block.sums.rows.size()) * block.sums.columns;
  ASSIGN_OR_RETURN(BoundedSimplex * solved, Lp(part.block));
  BoundedSimplex root = *solved;
  root.set_work_budget(&budget);
  const double sign = below ? 1.0 : -1.0;
  if (absl::StatusOr<double> optimum = root.Minimize(part.columns, sign); !optimum.ok()) {
    return GiveUp(optimum.status());
  }
  struct Node {
    std::vector<int64_t> lower, upper;
  };
  std::vector<Node> stack{{block.lower, block.upper}};
  for (int nodes = 0; !stack.empty() && nodes < kNodesPerSearch; ++nodes) {
    Node node = std::move(stack.back());
    stack.pop_back();
    if ((budget -= copy_cost) < 0) return false;
    BoundedSimplex lp = root;
    for (int j = 0; j < block.sums.columns; ++j) {
      if (node.lower[j] != block.lower[j] || node.upper[j] != block.upper[j]) {
        lp.SetBounds(j, node.lower[j], node.upper[j]);
      }
    }
    absl::StatusOr<bool> feasible = lp.Restore();
    if (!feasible.ok()) return GiveUp(feasible.status());
    if (!*feasible) continue;
    absl::StatusOr<double> optimum = lp.Minimize(part.columns, sign);
    if (!optimum.ok()) return GiveUp(optimum.status());
    const double value = sign * *optimum;
    if (below ? value > static_cast<double>(part.truth - 1) + lp.tolerance()
              : value < static_cast<double>(part.truth + 1) - lp.tolerance()) {
      continue;  // no integer solution here passes the truth
    }
    int branch = -1;
    double fraction = 0, at = 0;
    for (int j = 0; j < block.sums.columns; ++j) {
      const double x = lp.Value(j);
      const double off = std::abs(x - std::round(x));
      if (off > lp.tolerance() && off > fraction) {
        branch = j;
        fraction = off;
        at = x;
      }
    }
    if (branch < 0) {
      if (VertexWitness(lp, part)) return true;
      continue;
    }
    Node down = node;
    down.upper[branch] = static_cast<int64_t>(std::floor(at));
    Node up = std::move(node);
    up.lower[branch] = static_cast<int64_t>(std::ceil(at));
    if (at - std::floor(at) < 0.5) {  // the nearer side first (last pushed)
      stack.push_back(std::move(up));
      stack.push_back(std::move(down));
    } else {
      stack.push_back(std::move(down));
      stack.push_back(std::move(up));
    }
  }
  return false;
}

absl::StatusOr<TargetBounds> Auditor::Audit(const std::vector<int>& target, size_t later) {
  if (absl::Now() >= deadline_) {
    return absl::DeadlineExceededError("the linear audit took longer than AuditLimits.max_time");
  }
  int64_t low = 0, high = 0;
  bool unbounded = false, witnessed = false;
  std::map<int, Part> parts;  // by block: deterministic order
  for (int cell : target) {
    if (presolved_.fixed[cell]) {
      low += truth_[cell];
      high += truth_[cell];
    } else if (const int block = blocks_.block_of[cell]; block >= 0) {
      Part& part = parts[block];
      part.block = block;
      part.columns.push_back(blocks_.column_of[cell]);
      part.truth += truth_[cell];
    } else {  // in no equation: only its bounds hold it
      const int64_t lower = system_.lower[cell], upper = system_.upper[cell];
      low += lower;
      if (upper < 0) {
        unbounded = true;
      } else {
        high = SaturatingAdd(high, upper);
      }
      if (!witnessed && (upper < 0 || lower < upper)) {
        const int64_t other = truth_[cell] > lower ? truth_[cell] - 1 : truth_[cell] + 1;
        witnessed = StillSolves({{cell, other}});
      }
    }
  }
  for (auto& [block, part] : parts) {
    RETURN_IF_ERROR(Bound(part, witnessed));
    low += part.low;
    high = SaturatingAdd(high, part.high);
  }
  // This target's share of the search budget left.
  int64_t budget = search_work_ / static_cast<int64_t>(later + 1);
  search_work_ -= budget;
  for (auto it = parts.begin(); it != parts.end() && !witnessed && budget > 0; ++it) {
    const Part& part = it->second;
    if (part.low < part.truth) {
      ASSIGN_OR_RETURN(witnessed, Search(part, /*below=*/true, budget));
    }
    if (!witnessed && part.high > part.truth && budget > 0) {
      ASSIGN_OR_RETURN(witnessed, Search(part, /*below=*/false, budget));
    }
  }
  search_work_ += std::max<int64_t>(budget, 0);
  TargetBounds bounds;
  bounds.low = low;
  bounds.high = unbounded ? kUnboundedHigh : high;
  bounds.proven_protected = witnessed && bounds.low < bounds.high;
  return bounds;
}

}  // namespace

absl::StatusOr<std::vector<TargetBounds>> AuditTargets(const LinearSystem& system,
                                                       const std::vector<int64_t>& truth,
                                                       const std::vector<std::vector<int>>& targets,
                                                       const AuditLimits& limits) {
  const absl::Time deadline = absl::Now() + limits.max_time;
  RETURN_IF_ERROR(Validate(system, truth, targets));
  ASSIGN_OR_RETURN(Presolved presolved, Presolve(system, truth));
  Blocks blocks = FindBlocks(system, presolved);
  size_t unknowns = 0, equations = 0;
  for (const Block& block : blocks.blocks) {
    unknowns += block.cells.size();
    equations += block.sums.rows.size();
  }
  if (unknowns > static_cast<size_t>(std::max(limits.max_unknowns, 0))) {
    return absl::ResourceExhaustedError(absl::StrCat("after presolve the system has ", unknowns,
                                                     " unknown cells; AuditLimits.max_unknowns is ",
                                                     limits.max_unknowns));
  }
  if (equations > static_cast<size_t>(std::max(limits.max_equations, 0))) {
    return absl::ResourceExhaustedError(
        absl::StrCat("after presolve the system has ", equations,
                     " open equations; AuditLimits.max_equations is ", limits.max_equations));
  }
  Auditor auditor(system, truth, std::move(presolved), std::move(blocks), deadline,
                  limits.max_search_work);
  std::vector<TargetBounds> results;
  results.reserve(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) {
    ASSIGN_OR_RETURN(TargetBounds bounds, auditor.Audit(targets[t], targets.size() - t - 1));
    results.push_back(bounds);
  }
  return results;
}

}  // namespace trenode::disclosure
