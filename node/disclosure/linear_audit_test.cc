// The linear audit against brute-force enumeration of every integer
// solution: exact for two-way tables; sound (never narrower than the integer
// range, protection claimed only when true) for three-way tables, linked
// tables of one population and Latin squares, whose LP relaxation can be
// wider. On large two-way tables, exact against suppression.h's max flow.
#include "node/disclosure/linear_audit.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <random>

#include "gtest/gtest.h"
#include "node/disclosure/suppression.h"

namespace trenode::disclosure {
namespace {

// A system, its true solution and the targets to audit.
struct Case {
  LinearSystem system;
  std::vector<int64_t> truth;
  std::vector<std::vector<int>> targets;
};

// A case over `truth` in which the sum of each cell set of `published` is
// known; lower bounds 0 and no upper bounds unless set afterwards.
Case Publish(std::vector<int64_t> truth, const std::vector<std::vector<int>>& published) {
  Case c;
  c.system.lower.assign(truth.size(), 0);
  c.system.upper.assign(truth.size(), kNoUpperBound);
  for (const std::vector<int>& cells : published) {
    int64_t value = 0;
    for (int cell : cells) value += truth[cell];
    c.system.equations.push_back({cells, value});
  }
  c.truth = std::move(truth);
  return c;
}

int64_t Uniform(std::mt19937& rng, int64_t low, int64_t high) {  // portable, unlike <random>'s
  return low + static_cast<int64_t>(rng() % static_cast<uint64_t>(high - low + 1));
}

std::vector<int> Sample(std::mt19937& rng, int population, int count) {
  std::vector<int> all(population);
  for (int i = 0; i < population; ++i) all[i] = i;
  for (int i = 0; i < count; ++i) std::swap(all[i], all[Uniform(rng, i, population - 1)]);
  all.resize(count);
  std::sort(all.begin(), all.end());
  return all;
}

// Gives each suppressed cell lower bound 1 at random where the truth allows
// it, and (if `upper_bounds`) sometimes an upper bound above its truth; makes
// each a target, with a pair of them.
void TargetSuppressed(std::mt19937& rng, const std::vector<int>& suppressed, bool upper_bounds,
                      Case& c) {
  for (int cell : suppressed) {
    if (c.truth[cell] >= 1 && Uniform(rng, 0, 1) == 1) c.system.lower[cell] = 1;
    if (upper_bounds && Uniform(rng, 0, 3) == 0) {
      c.system.upper[cell] = c.truth[cell] + Uniform(rng, 0, 2);
    }
    c.targets.push_back({cell});
  }
  if (suppressed.size() >= 2) c.targets.push_back({suppressed[0], suppressed.back()});
}

// What a rows x columns table publishes: its cells but `suppressed`, its row,
// column and grand totals.
std::vector<std::vector<int>> TwoWayPublished(int rows, int columns,
                                              const std::vector<int>& suppressed) {
  std::vector<std::vector<int>> published;
  for (int cell = 0; cell < rows * columns; ++cell) {
    if (!std::binary_search(suppressed.begin(), suppressed.end(), cell)) {
      published.push_back({cell});
    }
  }
  for (int r = 0; r < rows; ++r) {
    published.emplace_back();
    for (int k = 0; k < columns; ++k) published.back().push_back(r * columns + k);
  }
  for (int k = 0; k < columns; ++k) {
    published.emplace_back();
    for (int r = 0; r < rows; ++r) published.back().push_back(r * columns + k);
  }
  published.emplace_back();
  for (int cell = 0; cell < rows * columns; ++cell) published.back().push_back(cell);
  return published;
}

Case TwoWayTable(std::mt19937& rng, int rows, int columns, int suppressed_count, int max_count,
                 bool upper_bounds) {
  std::vector<int64_t> truth(rows * columns);
  for (int64_t& count : truth) count = Uniform(rng, 0, max_count);
  std::vector<int> suppressed = Sample(rng, rows * columns, suppressed_count);
  Case c = Publish(std::move(truth), TwoWayPublished(rows, columns, suppressed));
  TargetSuppressed(rng, suppressed, upper_bounds, c);
  return c;
}

// An a x b x c table: published cells and the three two-way margins; the
// suppressed cells are a random 2x2x2 sub-box (the least that can protect a
// cell against three margins) and `extra` random cells.
Case ThreeWayTable(std::mt19937& rng, int a, int b, int c, int extra, int max_count) {
  auto cell = [&](int i, int j, int k) { return (i * b + j) * c + k; };
  std::vector<int64_t> truth(a * b * c);
  for (int64_t& count : truth) count = Uniform(rng, 0, max_count);
  std::vector<int> is = Sample(rng, a, 2), js = Sample(rng, b, 2), ks = Sample(rng, c, 2);
  std::vector<int> suppressed = Sample(rng, a * b * c, extra);
  for (int i : is) {
    for (int j : js) {
      for (int k : ks) suppressed.push_back(cell(i, j, k));
    }
  }
  std::sort(suppressed.begin(), suppressed.end());
  suppressed.erase(std::unique(suppressed.begin(), suppressed.end()), suppressed.end());
  std::vector<std::vector<int>> published;
  for (int x = 0; x < a * b * c; ++x) {
    if (!std::binary_search(suppressed.begin(), suppressed.end(), x)) published.push_back({x});
  }
  for (int i = 0; i < a; ++i) {
    for (int j = 0; j < b; ++j) {
      published.emplace_back();
      for (int k = 0; k < c; ++k) published.back().push_back(cell(i, j, k));
    }
    for (int k = 0; k < c; ++k) {
      published.emplace_back();
      for (int j = 0; j < b; ++j) published.back().push_back(cell(i, j, k));
    }
  }
  for (int j = 0; j < b; ++j) {
    for (int k = 0; k < c; ++k) {
      published.emplace_back();
      for (int i = 0; i < a; ++i) published.back().push_back(cell(i, j, k));
    }
  }
  Case result = Publish(std::move(truth), published);
  TargetSuppressed(rng, suppressed, /*upper_bounds=*/false, result);
  return result;
}

// Every integer solution of `system`, depth first over the cells in order;
// a cell ranges up to its upper bound or the smallest equation holding it
// (it must have one or the other).
void ForEachSolution(const LinearSystem& system,
                     const std::function<void(const std::vector<int64_t>&)>& visit) {
  const int n = static_cast<int>(system.lower.size());
  const size_t m = system.equations.size();
  std::vector<std::vector<int>> equations_of(n);
  std::vector<int64_t> cap(n, std::numeric_limits<int64_t>::max());
  for (size_t e = 0; e < m; ++e) {
    for (int cell : system.equations[e].cells) {
      equations_of[cell].push_back(static_cast<int>(e));
      cap[cell] = std::min(cap[cell], system.equations[e].value);
    }
  }
  // Per equation: the sum so far, and the most its unassigned cells can add.
  std::vector<int64_t> partial(m, 0), room(m, 0);
  for (int cell = 0; cell < n; ++cell) {
    if (system.upper[cell] >= 0) cap[cell] = std::min(cap[cell], system.upper[cell]);
    for (int e : equations_of[cell]) room[e] += cap[cell];
  }
  std::vector<int64_t> x(n);
  std::function<void(int)> search = [&](int cell) {
    if (cell == n) {
      visit(x);
      return;
    }
    for (int e : equations_of[cell]) room[e] -= cap[cell];
    for (int64_t v = system.lower[cell]; v <= cap[cell]; ++v) {
      x[cell] = v;
      bool over = false, short_of = false;
      for (int e : equations_of[cell]) {
        partial[e] += v;
        over = over || partial[e] > system.equations[e].value;
        short_of = short_of || partial[e] + room[e] < system.equations[e].value;
      }
      if (!over && !short_of) search(cell + 1);
      for (int e : equations_of[cell]) partial[e] -= v;
      if (over) break;
    }
    for (int e : equations_of[cell]) room[e] += cap[cell];
  };
  search(0);
}

struct Range {
  int64_t min = std::numeric_limits<int64_t>::max();
  int64_t max = std::numeric_limits<int64_t>::min();
};

// The exact integer range of every target, by enumeration.
std::vector<Range> Oracle(const Case& c) {
  std::vector<Range> ranges(c.targets.size());
  ForEachSolution(c.system, [&](const std::vector<int64_t>& x) {
    for (size_t t = 0; t < c.targets.size(); ++t) {
      int64_t sum = 0;
      for (int cell : c.targets[t]) sum += x[cell];
      ranges[t].min = std::min(ranges[t].min, sum);
      ranges[t].max = std::max(ranges[t].max, sum);
    }
  });
  return ranges;
}

std::vector<TargetBounds> Audit(const Case& c) {
  absl::StatusOr<std::vector<TargetBounds>> bounds = AuditTargets(c.system, c.truth, c.targets);
  EXPECT_TRUE(bounds.ok()) << bounds.status();
  return bounds.ok() ? *std::move(bounds) : std::vector<TargetBounds>(c.targets.size());
}

TEST(LinearAuditTest, TwoWayTablesMatchEveryIntegerSolution) {
  std::mt19937 rng(20240611);
  int cases = 0, protected_targets = 0, recoverable_targets = 0;
  const int shapes[][2] = {{2, 2}, {2, 3}, {3, 3}, {3, 4}};
  for (int round = 0; round < 80; ++round) {
    for (const auto& shape : shapes) {
      const int cells = shape[0] * shape[1];
      Case c = TwoWayTable(rng, shape[0], shape[1], Uniform(rng, 1, std::min(5, cells)), 6,
                           /*upper_bounds=*/round % 2 == 1);
      std::vector<Range> exact = Oracle(c);
      std::vector<TargetBounds> audit = Audit(c);
      ++cases;
      for (size_t t = 0; t < c.targets.size(); ++t) {
        SCOPED_TRACE(testing::Message() << "case " << cases << " target " << t);
        EXPECT_EQ(audit[t].low, exact[t].min);
        EXPECT_EQ(audit[t].high, exact[t].max);
        EXPECT_EQ(audit[t].proven_protected, exact[t].min < exact[t].max);
        (exact[t].min < exact[t].max ? protected_targets : recoverable_targets)++;
      }
    }
  }
  // Both outcomes occur often enough for the comparison to mean something.
  EXPECT_GT(protected_targets, 100);
  EXPECT_GT(recoverable_targets, 100);
}

TEST(LinearAuditTest, ThreeWayTablesAreBoundedSoundly) {
  std::mt19937 rng(7);
  int cases = 0, proven = 0, truly_protected = 0;
  const int shapes[][3] = {{2, 2, 2}, {2, 3, 2}, {2, 3, 3}, {3, 3, 3}};
  for (int round = 0; round < 60; ++round) {
    for (const auto& shape : shapes) {
      const int cells = shape[0] * shape[1] * shape[2];
      Case c = ThreeWayTable(rng, shape[0], shape[1], shape[2], Uniform(rng, 0, cells / 4),
                             cells > 12 ? 3 : 4);
      std::vector<Range> exact = Oracle(c);
      std::vector<TargetBounds> audit = Audit(c);
      ++cases;
      for (size_t t = 0; t < c.targets.size(); ++t) {
        SCOPED_TRACE(testing::Message() << "case " << cases << " target " << t);
        EXPECT_LE(audit[t].low, exact[t].min);
        EXPECT_GE(audit[t].high, exact[t].max);
        if (audit[t].proven_protected) {
          EXPECT_LT(exact[t].min, exact[t].max);
        }
        proven += audit[t].proven_protected;
        truly_protected += exact[t].min < exact[t].max;
      }
    }
  }
  EXPECT_GT(truly_protected, 50);
  EXPECT_EQ(proven, truly_protected);  // the witness search is complete at this size
}

// Three two-way tables of one population (A x B, A x C, B x C) published
// with their totals and some cells suppressed: the unknowns are the cells of
// the joint A x B x C table, which nobody publishes; the targets are the
// suppressed two-way cells.
Case LinkedTables(std::mt19937& rng, int a, int b, int c, int suppressed_count, int max_count) {
  auto cell = [&](int i, int j, int k) { return (i * b + j) * c + k; };
  std::vector<int64_t> joint(a * b * c);
  for (int64_t& count : joint) count = Uniform(rng, 0, max_count);
  std::vector<std::vector<int>> two_way;  // every cell of the three tables
  for (int i = 0; i < a; ++i) {
    for (int j = 0; j < b; ++j) {
      two_way.emplace_back();
      for (int k = 0; k < c; ++k) two_way.back().push_back(cell(i, j, k));
    }
  }
  for (int i = 0; i < a; ++i) {
    for (int k = 0; k < c; ++k) {
      two_way.emplace_back();
      for (int j = 0; j < b; ++j) two_way.back().push_back(cell(i, j, k));
    }
  }
  for (int j = 0; j < b; ++j) {
    for (int k = 0; k < c; ++k) {
      two_way.emplace_back();
      for (int i = 0; i < a; ++i) two_way.back().push_back(cell(i, j, k));
    }
  }
  std::vector<int> suppressed = Sample(rng, static_cast<int>(two_way.size()), suppressed_count);
  std::vector<std::vector<int>> published;
  for (int t = 0; t < static_cast<int>(two_way.size()); ++t) {
    if (!std::binary_search(suppressed.begin(), suppressed.end(), t)) {
      published.push_back(two_way[t]);
    }
  }
  for (int i = 0; i < a; ++i) {  // the one-way totals, and the grand total
    published.emplace_back();
    for (int j = 0; j < b; ++j) {
      for (int k = 0; k < c; ++k) published.back().push_back(cell(i, j, k));
    }
  }
  for (int j = 0; j < b; ++j) {
    published.emplace_back();
    for (int i = 0; i < a; ++i) {
      for (int k = 0; k < c; ++k) published.back().push_back(cell(i, j, k));
    }
  }
  for (int k = 0; k < c; ++k) {
    published.emplace_back();
    for (int i = 0; i < a; ++i) {
      for (int j = 0; j < b; ++j) published.back().push_back(cell(i, j, k));
    }
  }
  published.emplace_back();
  for (int x = 0; x < a * b * c; ++x) published.back().push_back(x);
  Case result = Publish(std::move(joint), published);
  for (int t : suppressed) result.targets.push_back(two_way[t]);
  return result;
}

TEST(LinearAuditTest, LinkedTablesOfOnePopulationAreBoundedSoundly) {
  std::mt19937 rng(19);
  int proven = 0, truly_protected = 0, recoverable = 0;
  const int shapes[][3] = {{2, 2, 2}, {2, 2, 3}, {2, 3, 3}};
  for (int round = 0; round < 40; ++round) {
    for (const auto& shape : shapes) {
      const int two_way_cells = shape[0] * shape[1] + shape[0] * shape[2] + shape[1] * shape[2];
      Case c = LinkedTables(rng, shape[0], shape[1], shape[2],
                            Uniform(rng, 2, two_way_cells * 2 / 3), 3);
      std::vector<Range> exact = Oracle(c);
      std::vector<TargetBounds> audit = Audit(c);
      for (size_t t = 0; t < c.targets.size(); ++t) {
        SCOPED_TRACE(testing::Message() << "round " << round << " target " << t);
        EXPECT_LE(audit[t].low, exact[t].min);
        EXPECT_GE(audit[t].high, exact[t].max);
        if (audit[t].proven_protected) {
          EXPECT_LT(exact[t].min, exact[t].max);
        }
        proven += audit[t].proven_protected;
        truly_protected += exact[t].min < exact[t].max;
        recoverable += exact[t].min == exact[t].max;
      }
    }
  }
  EXPECT_GT(truly_protected, 50);
  EXPECT_GT(recoverable, 50);
  EXPECT_EQ(proven, truly_protected);  // the witness search is complete at this size
}

TEST(LinearAuditTest, LatinSquaresShowTheLpIntervalCanBeWiderAndProtectionStaysExact) {
  // A 3x3x3 table of 0/1 cells whose three two-way margins are all 1 (its
  // integer solutions are the 12 Latin squares of order 3), fully suppressed;
  // the targets are sets of cells. The LP relaxation has fractional
  // vertices, so some intervals are wider than the integer ranges.
  auto cell = [](int i, int j, int k) { return (i * 3 + j) * 3 + k; };
  std::vector<int64_t> truth(27, 0);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) truth[cell(i, j, (i + j) % 3)] = 1;
  }
  std::vector<std::vector<int>> published;
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) {
      published.push_back({cell(a, b, 0), cell(a, b, 1), cell(a, b, 2)});
      published.push_back({cell(a, 0, b), cell(a, 1, b), cell(a, 2, b)});
      published.push_back({cell(0, a, b), cell(1, a, b), cell(2, a, b)});
    }
  }
  Case c = Publish(truth, published);
  // Four targets where the LP interval is one wider than the integer range
  // (found by search: about one random target in 5,000), then random ones.
  c.targets = {{1, 6, 8, 9, 14, 20, 21},
               {1, 5, 8, 12, 16, 20, 22, 24},
               {2, 7, 10, 12, 17, 18, 21, 22, 23, 24},
               {0, 1, 2, 3, 4, 6, 7, 8, 9, 16, 19, 24}};
  const std::vector<int64_t> integer_low = {1, 1, 2, 3};
  std::mt19937 rng(5);
  for (int t = 0; t < 300; ++t) c.targets.push_back(Sample(rng, 27, Uniform(rng, 1, 12)));
  std::vector<Range> exact = Oracle(c);
  std::vector<TargetBounds> audit = Audit(c);
  for (size_t t = 0; t < c.targets.size(); ++t) {
    SCOPED_TRACE(testing::Message() << "target " << t);
    if (t < integer_low.size()) {
      EXPECT_EQ(exact[t].min, integer_low[t]);
      EXPECT_EQ(audit[t].low, integer_low[t] - 1);
    }
    EXPECT_LE(audit[t].low, exact[t].min);
    EXPECT_GE(audit[t].high, exact[t].max);
    // The witness search is complete at this size.
    EXPECT_EQ(audit[t].proven_protected, exact[t].min < exact[t].max);
  }
}

TEST(LinearAuditTest, AnLpOnlyRangeIsNotClaimedAsProtection) {
  // Cells x0..x3 (0-3), of which each pair sums to at most 1 (x_i + x_j +
  // slack = 1, slacks 4-9), and x0 + x1 + x2 + x3 + u = 2 with u <= 1 (10).
  // In integers exactly one x is 1, so u = 1; the LP can set every x to 1/2
  // and u to 0.
  std::vector<int64_t> truth = {1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
  std::vector<std::vector<int>> published = {{0, 1, 4}, {0, 2, 5}, {0, 3, 6},
                                             {1, 2, 7}, {1, 3, 8}, {2, 3, 9}};
  published.push_back({0, 1, 2, 3, 10});
  Case c = Publish(truth, published);
  c.system.upper[10] = 1;
  c.targets = {{10}, {0}, {0, 1, 2, 3}};
  std::vector<Range> exact = Oracle(c);
  std::vector<TargetBounds> audit = Audit(c);
  EXPECT_EQ(exact[0].min, 1);
  EXPECT_EQ(exact[0].max, 1);
  EXPECT_EQ(audit[0].low, 0);  // the LP's bound: wider
  EXPECT_EQ(audit[0].high, 1);
  EXPECT_FALSE(audit[0].proven_protected);
  EXPECT_EQ(audit[1].low, 0);  // x0 really is 0 or 1
  EXPECT_EQ(audit[1].high, 1);
  EXPECT_TRUE(audit[1].proven_protected);
  EXPECT_EQ(audit[2].low, 1);
  EXPECT_EQ(audit[2].high, 2);
  EXPECT_FALSE(audit[2].proven_protected);
}

TEST(LinearAuditTest, UpperBoundsNarrowTheRange) {
  // A list of three counts with its total, all suppressed; the first two are
  // known to be at most 3 and 4, and the third at least 2.
  Case c = Publish({3, 1, 6}, {{0, 1, 2}});
  c.system.upper[0] = 3;
  c.system.upper[1] = 4;
  c.system.lower[2] = 2;
  c.targets = {{2}, {0}, {0, 1}};
  std::vector<Range> exact = Oracle(c);
  std::vector<TargetBounds> audit = Audit(c);
  for (size_t t = 0; t < c.targets.size(); ++t) {
    EXPECT_EQ(audit[t].low, exact[t].min) << t;
    EXPECT_EQ(audit[t].high, exact[t].max) << t;
    EXPECT_TRUE(audit[t].proven_protected) << t;
  }
  EXPECT_EQ(audit[0].low, 3);  // 10 less 3 and 4
  EXPECT_EQ(audit[0].high, 10);
  EXPECT_EQ(audit[2].high, 7);
}

TEST(LinearAuditTest, ACellAloneSuppressedInItsRowIsRecoverable) {
  // 3x3; only cell (1, 2) suppressed.
  Case c = Publish({4, 7, 1, 9, 3, 2, 5, 5, 8},
                   {{0}, {1}, {2}, {3}, {4}, {6}, {7}, {8}, {0, 1, 2}, {3, 4, 5}, {6, 7, 8}});
  c.targets = {{5}};
  std::vector<TargetBounds> audit = Audit(c);
  EXPECT_EQ(audit[0].low, 2);
  EXPECT_EQ(audit[0].high, 2);
  EXPECT_FALSE(audit[0].proven_protected);
}

TEST(LinearAuditTest, ABlockOfFourSuppressedCellsIsProtected) {
  // 4x4 with rows, columns and grand total; the 2x2 block at rows 1-2,
  // columns 1-2 (3 5 / 2 4) suppressed.
  std::vector<int64_t> truth = {10, 11, 12, 13, 14, 3, 5, 15, 16, 2, 4, 17, 18, 19, 20, 21};
  std::vector<std::vector<int>> published;
  for (int cell : {0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 14, 15}) published.push_back({cell});
  for (int r = 0; r < 4; ++r) published.push_back({4 * r, 4 * r + 1, 4 * r + 2, 4 * r + 3});
  for (int k = 0; k < 4; ++k) published.push_back({k, 4 + k, 8 + k, 12 + k});
  Case c = Publish(truth, published);
  c.targets = {{5}, {6}, {9}, {10}, {5, 6}, {5, 9}};
  std::vector<TargetBounds> audit = Audit(c);
  // Row sums 8 and 6, column sums 5 and 9: a = 3 can be 0..5.
  EXPECT_EQ(audit[0].low, 0);
  EXPECT_EQ(audit[0].high, 5);
  EXPECT_EQ(audit[3].low, 1);  // d = 4 = 9 - 8 + a: 1..6
  EXPECT_EQ(audit[3].high, 6);
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(audit[t].proven_protected) << t;
  // A row or column of the block sums to its published residual.
  EXPECT_EQ(audit[4].low, 8);
  EXPECT_EQ(audit[4].high, 8);
  EXPECT_FALSE(audit[4].proven_protected);
  EXPECT_EQ(audit[5].low, 5);
  EXPECT_FALSE(audit[5].proven_protected);
}

TEST(LinearAuditTest, ListOfCountsWithTwoSuppressedOnesDependsOnTheLowerBound) {
  // {1, 1, 500, 600} published with its grand total; both 1s suppressed.
  Case c = Publish({1, 1, 500, 600}, {{2}, {3}, {0, 1, 2, 3}});
  c.targets = {{0}, {1}, {0, 1}};
  std::vector<TargetBounds> audit = Audit(c);
  for (int t = 0; t < 2; ++t) {
    EXPECT_EQ(audit[t].low, 0);
    EXPECT_EQ(audit[t].high, 2);
    EXPECT_TRUE(audit[t].proven_protected);
  }
  EXPECT_EQ(audit[2].low, 2);  // their sum is the total less the rest
  EXPECT_EQ(audit[2].high, 2);
  EXPECT_FALSE(audit[2].proven_protected);

  // A listing implies each listed count is at least 1: that gives both away.
  c.system.lower[0] = c.system.lower[1] = 1;
  audit = Audit(c);
  for (int t = 0; t < 2; ++t) {
    EXPECT_EQ(audit[t].low, 1);
    EXPECT_EQ(audit[t].high, 1);
    EXPECT_FALSE(audit[t].proven_protected);
  }
}

// Counts by region x sex (cell 2r + s), published as a list with only its
// grand total, and, linked to it, counts by region (the list's row sums).
class LinearAuditMarginsTest : public testing::Test {
 protected:
  const std::vector<int64_t> truth_ = {40, 38, 3, 29, 51, 47, 2, 35};
  Case Linked(const std::vector<int>& suppressed, bool with_region_table) {
    std::vector<std::vector<int>> published;
    for (int cell = 0; cell < 8; ++cell) {
      if (std::find(suppressed.begin(), suppressed.end(), cell) == suppressed.end()) {
        published.push_back({cell});
      }
    }
    published.push_back({0, 1, 2, 3, 4, 5, 6, 7});
    if (with_region_table) {
      for (int r = 0; r < 4; ++r) published.push_back({2 * r, 2 * r + 1});
    }
    Case c = Publish(truth_, published);
    for (int cell : suppressed) c.targets.push_back({cell});
    return c;
  }
};

TEST_F(LinearAuditMarginsTest, ASmallCellAloneInItsRegionIsRecoverableFromTheRegionTable) {
  std::vector<TargetBounds> audit = Audit(Linked({2}, true));
  EXPECT_EQ(audit[0].low, 3);
  EXPECT_EQ(audit[0].high, 3);
  EXPECT_FALSE(audit[0].proven_protected);
}

TEST_F(LinearAuditMarginsTest, TwoCellsOfOneRegionProtectEachOther) {
  std::vector<TargetBounds> audit = Audit(Linked({2, 3}, true));
  for (int t = 0; t < 2; ++t) {
    EXPECT_EQ(audit[t].low, 0);
    EXPECT_EQ(audit[t].high, 32);
    EXPECT_TRUE(audit[t].proven_protected);
  }
}

TEST_F(LinearAuditMarginsTest, CellsOfTwoRegionsProtectedByTheListAreGivenAwayByTheLink) {
  std::vector<TargetBounds> alone = Audit(Linked({2, 6}, false));
  for (int t = 0; t < 2; ++t) {
    EXPECT_EQ(alone[t].low, 0);
    EXPECT_EQ(alone[t].high, 5);
    EXPECT_TRUE(alone[t].proven_protected);
  }
  std::vector<TargetBounds> linked = Audit(Linked({2, 6}, true));
  EXPECT_EQ(linked[0].low, 3);
  EXPECT_EQ(linked[0].high, 3);
  EXPECT_EQ(linked[1].low, 2);
  EXPECT_EQ(linked[1].high, 2);
  EXPECT_FALSE(linked[0].proven_protected || linked[1].proven_protected);
}

TEST(LinearAuditTest, ACellInNoEquationIsBoundedOnlyByItsBounds) {
  Case c = Publish({5, 2, 3}, {{1, 2}});  // cell 0 appears nowhere
  c.targets = {{0}, {0, 1}};
  std::vector<TargetBounds> audit = Audit(c);
  EXPECT_EQ(audit[0].low, 0);
  EXPECT_EQ(audit[0].high, kUnboundedHigh);
  EXPECT_TRUE(audit[0].proven_protected);
  EXPECT_EQ(audit[1].high, kUnboundedHigh);

  c.system.lower[0] = 4;
  c.system.upper[0] = 6;
  audit = Audit(c);
  EXPECT_EQ(audit[0].low, 4);
  EXPECT_EQ(audit[0].high, 6);
  EXPECT_TRUE(audit[0].proven_protected);
  EXPECT_EQ(audit[1].low, 4);
  EXPECT_EQ(audit[1].high, 11);

  c.system.lower[0] = c.system.upper[0] = 5;
  audit = Audit(c);
  EXPECT_EQ(audit[0].low, 5);
  EXPECT_EQ(audit[0].high, 5);
  EXPECT_FALSE(audit[0].proven_protected);
}

TEST(LinearAuditTest, ATargetSpanningIndependentBlocksAddsTheirBounds) {
  // Two lists, each with its total and two suppressed cells; the target takes
  // one suppressed cell of each.
  Case c = Publish({2, 3, 10, 1, 4, 20}, {{2}, {0, 1, 2}, {5}, {3, 4, 5}});
  c.targets = {{0, 3}, {0, 1, 3, 4}};
  std::vector<TargetBounds> audit = Audit(c);
  EXPECT_EQ(audit[0].low, 0);
  EXPECT_EQ(audit[0].high, 10);
  EXPECT_TRUE(audit[0].proven_protected);
  EXPECT_EQ(audit[1].low, 10);
  EXPECT_EQ(audit[1].high, 10);
  EXPECT_FALSE(audit[1].proven_protected);
}

TEST(LinearAuditTest, RejectsMalformedSystemsAndWrongTruths) {
  Case c = Publish({1, 1, 500, 600}, {{2}, {3}, {0, 1, 2, 3}});
  c.targets = {{0}};
  std::vector<int64_t> wrong = {1, 2, 500, 600};
  EXPECT_EQ(AuditTargets(c.system, wrong, c.targets).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AuditTargets(c.system, c.truth, {{4}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AuditTargets(c.system, c.truth, {{0, 0}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  Case repeated = c;
  repeated.system.equations.push_back({{1, 1}, 2});
  EXPECT_EQ(AuditTargets(repeated.system, c.truth, c.targets).status().code(),
            absl::StatusCode::kInvalidArgument);
  Case upside_down = c;
  upside_down.system.lower[0] = 2;
  upside_down.system.upper[0] = 1;
  EXPECT_EQ(AuditTargets(upside_down.system, c.truth, c.targets).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LinearAuditTest, LimitsApplyAfterPresolve) {
  std::mt19937 rng(3);
  Case c = TwoWayTable(rng, 6, 6, 12, 9, /*upper_bounds=*/false);
  absl::StatusOr<std::vector<TargetBounds>> all = AuditTargets(c.system, c.truth, c.targets);
  ASSERT_TRUE(all.ok()) << all.status();

  AuditLimits few_unknowns;
  few_unknowns.max_unknowns = 3;
  absl::Status status = AuditTargets(c.system, c.truth, c.targets, few_unknowns).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(status.message().find("max_unknowns"), std::string::npos) << status;

  AuditLimits few_equations;
  few_equations.max_equations = 2;
  status = AuditTargets(c.system, c.truth, c.targets, few_equations).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(status.message().find("max_equations"), std::string::npos) << status;

  // A list with one suppressed cell has unknowns and equations, but presolve
  // leaves none.
  Case lone = Publish({4, 7, 1, 9}, {{0}, {1}, {2}, {0, 1, 2, 3}});
  lone.targets = {{3}};
  AuditLimits none;
  none.max_unknowns = none.max_equations = 0;
  EXPECT_TRUE(AuditTargets(lone.system, lone.truth, lone.targets, none).ok());

  AuditLimits no_time;
  no_time.max_time = absl::ZeroDuration();
  EXPECT_EQ(AuditTargets(c.system, c.truth, c.targets, no_time).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

// A random two-way table audited as a system (lower bounds 0, targets its
// suppressed cells) and by AuditSuppression's max flow: the answers agree.
void ExpectMatchesMaxFlow(std::mt19937& rng, int rows, int columns, int suppressed_count,
                          int64_t max_count) {
  Table table;
  table.row_labels.resize(rows);
  table.column_labels.resize(columns);
  std::vector<int64_t> truth;
  for (int cell = 0; cell < rows * columns; ++cell) {
    CellFacts facts;
    facts.contributors = Uniform(rng, 0, max_count);
    table.cells.push_back(facts);
    truth.push_back(facts.contributors);
  }
  std::vector<int> suppressed_cells = Sample(rng, rows * columns, suppressed_count);
  Case sized = Publish(truth, TwoWayPublished(rows, columns, suppressed_cells));
  std::vector<bool> suppressed(rows * columns, false);
  for (int cell : suppressed_cells) {
    sized.targets.push_back({cell});
    suppressed[cell] = true;
  }
  absl::StatusOr<std::vector<std::optional<Interval>>> flow = AuditSuppression(table, suppressed);
  ASSERT_TRUE(flow.ok()) << flow.status();
  absl::StatusOr<std::vector<TargetBounds>> audit =
      AuditTargets(sized.system, sized.truth, sized.targets);
  ASSERT_TRUE(audit.ok()) << audit.status();
  int protected_cells = 0;
  for (size_t t = 0; t < sized.targets.size(); ++t) {
    const int cell = sized.targets[t][0];
    const TargetBounds& bounds = (*audit)[t];
    SCOPED_TRACE(testing::Message() << "cell " << cell << " of " << truth[cell]);
    EXPECT_LE(bounds.low, truth[cell]);
    EXPECT_GE(bounds.high, truth[cell]);
    EXPECT_EQ(bounds.low, (*flow)[cell]->low);
    EXPECT_EQ(bounds.high, (*flow)[cell]->high);
    EXPECT_EQ(bounds.proven_protected, !(*flow)[cell]->recoverable());
    protected_cells += bounds.proven_protected;
  }
  EXPECT_GT(protected_cells, 0);
}

TEST(LinearAuditTest, CountsUpToABillionMatchTheMaxFlowAudit) {
  std::mt19937 rng(11);
  for (int round = 0; round < 5; ++round) ExpectMatchesMaxFlow(rng, 20, 20, 60, 1'000'000'000);
}

TEST(LinearAuditTest, ThreeWayTablesOfLargeCountsStayConsistent) {
  // 8x8x8 with every two-way margin, 40% of the cells suppressed, counts up
  // to a billion: hundreds of pivots, where rounding drifts unless the
  // tableau is recomputed.
  std::mt19937 rng(2);
  const int n = 8;
  std::vector<int64_t> truth(n * n * n);
  for (int64_t& count : truth) count = Uniform(rng, 0, 2) == 0 ? 0 : Uniform(rng, 0, 1'000'000'000);
  std::vector<int> suppressed = Sample(rng, n * n * n, n * n * n * 2 / 5);
  std::vector<std::vector<int>> published;
  for (int x = 0; x < n * n * n; ++x) {
    if (!std::binary_search(suppressed.begin(), suppressed.end(), x)) published.push_back({x});
  }
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      published.emplace_back();
      published.emplace_back();
      published.emplace_back();
      for (int k = 0; k < n; ++k) {
        published[published.size() - 3].push_back((a * n + b) * n + k);
        published[published.size() - 2].push_back((a * n + k) * n + b);
        published[published.size() - 1].push_back((k * n + a) * n + b);
      }
    }
  }
  Case c = Publish(truth, published);
  for (int cell : suppressed) c.targets.push_back({cell});
  std::vector<TargetBounds> audit = Audit(c);
  int open = 0, proven = 0;
  for (size_t t = 0; t < c.targets.size(); ++t) {
    EXPECT_LE(audit[t].low, truth[c.targets[t][0]]) << t;
    EXPECT_GE(audit[t].high, truth[c.targets[t][0]]) << t;
    open += audit[t].low < audit[t].high;
    proven += audit[t].proven_protected;
  }
  EXPECT_GT(open, 100);
  EXPECT_GT(proven, open * 9 / 10);  // with a billion to move, witnesses abound
}

// Not a benchmark: one call on a realistic size must complete, and agree
// with the max-flow audit.
TEST(LinearAuditTest, AHundredByHundredTableWithThreeHundredSuppressedCells) {
  std::mt19937 rng(12);
  ExpectMatchesMaxFlow(rng, 100, 100, 300, 99);
}

}  // namespace
}  // namespace trenode::disclosure
