// Suppression: primary suppression alone can be undone from the totals;
// secondary suppression prevents it, and an independent brute-force search of
// every table consistent with what is published agrees with the audit.
#include "node/disclosure/suppression.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace trenode::disclosure {
namespace {

Table Counts(const std::vector<std::vector<int64_t>>& rows) {
  Table table;
  for (size_t r = 0; r < rows.size(); ++r) table.row_labels.push_back("r" + std::to_string(r));
  for (size_t c = 0; c < rows[0].size(); ++c) {
    table.column_labels.push_back("c" + std::to_string(c));
  }
  for (const auto& row : rows) {
    for (int64_t count : row) {
      CellFacts cell;
      cell.contributors = count;
      table.cells.push_back(cell);
    }
  }
  return table;
}

// Every value each suppressed cell takes over all non-negative integer
// tables with the published cells and the same row and column totals.
std::map<size_t, std::set<int64_t>> BruteForce(const Table& table,
                                               const std::vector<bool>& suppressed) {
  const size_t columns = table.column_labels.size();
  std::vector<int64_t> row_left(table.row_labels.size()), column_left(columns);
  std::vector<size_t> hidden;
  for (size_t i = 0; i < table.cells.size(); ++i) {
    if (!suppressed[i]) continue;
    hidden.push_back(i);
    row_left[i / columns] += table.cells[i].contributors;
    column_left[i % columns] += table.cells[i].contributors;
  }
  std::map<size_t, std::set<int64_t>> seen;
  std::vector<int64_t> values(hidden.size());
  std::function<void(size_t)> search = [&](size_t k) {
    if (k == hidden.size()) {
      for (int64_t left : row_left) {
        if (left != 0) return;
      }
      for (int64_t left : column_left) {
        if (left != 0) return;
      }
      for (size_t j = 0; j < hidden.size(); ++j) seen[hidden[j]].insert(values[j]);
      return;
    }
    size_t r = hidden[k] / columns, c = hidden[k] % columns;
    for (int64_t v = 0; v <= std::min(row_left[r], column_left[c]); ++v) {
      values[k] = v;
      row_left[r] -= v;
      column_left[c] -= v;
      search(k + 1);
      row_left[r] += v;
      column_left[c] += v;
    }
  };
  search(0);
  return seen;
}

std::vector<bool> Failing(const Table& table, const TableVerdict& verdict) {
  std::vector<bool> failing(table.cells.size());
  for (size_t i = 0; i < failing.size(); ++i)
    failing[i] = verdict.cells[i].verdict != Verdict::kPass;
  return failing;
}

TEST(SuppressionTest, PrimarySuppressionAloneIsUndoneByTheTotalsSecondaryPreventsIt) {
  // Threshold 3 (small numbers keep the brute force quick): the 1 and the 2
  // fail, each alone in its row and column.
  Table table = Counts({{1, 4, 5}, {4, 6, 3}, {5, 4, 2}});
  Policy policy = *Preset("acro");
  ASSERT_TRUE(Override(policy, "threshold", "3").ok());
  TableVerdict verdict = CheckTable(table, policy);
  std::vector<bool> primary = Failing(table, verdict);
  ASSERT_EQ(std::count(primary.begin(), primary.end(), true), 2);

  auto naive = AuditSuppression(table, primary);
  ASSERT_TRUE(naive.ok());
  EXPECT_TRUE((*naive)[0]->recoverable());  // row 0's total less 4 and 5 is 1
  EXPECT_EQ((*naive)[0]->low, 1);
  EXPECT_EQ(BruteForce(table, primary)[0], (std::set<int64_t>{1}));

  auto protection = Suppress(table, verdict);
  ASSERT_TRUE(protection.ok()) << protection.status();
  EXPECT_TRUE(protection->suppressed[0] && protection->suppressed[8]);
  EXPECT_GT(std::count(protection->suppressed.begin(), protection->suppressed.end(), true), 2);
  std::map<size_t, std::set<int64_t>> possible = BruteForce(table, protection->suppressed);
  for (size_t i = 0; i < table.cells.size(); ++i) {
    if (!protection->suppressed[i]) continue;
    const Interval& interval = *protection->intervals[i];
    EXPECT_FALSE(interval.recoverable()) << "cell " << i;
    // The audit's interval is exactly what an attacker can deduce.
    EXPECT_EQ(interval.low, *possible[i].begin()) << "cell " << i;
    EXPECT_EQ(interval.high, *possible[i].rbegin()) << "cell " << i;
    EXPECT_TRUE(possible[i].contains(table.cells[i].contributors));
  }
}

TEST(SuppressionTest, ZerosAloneInARowAreExposedByAZeroResidual) {
  // Row 1's only small cells are two zeros: suppressing just them publishes
  // a row residual of 0, which gives both away.
  Table table = Counts({{20, 30, 25}, {0, 0, 40}, {15, 12, 18}});
  TableVerdict verdict = CheckTable(table, *Preset("acro"));
  auto naive = AuditSuppression(table, Failing(table, verdict));
  ASSERT_TRUE(naive.ok());
  EXPECT_TRUE((*naive)[3]->recoverable());
  auto protection = Suppress(table, verdict);
  ASSERT_TRUE(protection.ok());
  for (size_t i = 0; i < table.cells.size(); ++i) {
    if (protection->suppressed[i]) {
      EXPECT_FALSE(protection->intervals[i]->recoverable()) << i;
    }
  }
  EXPECT_TRUE(protection->suppressed[5]);  // the 40 joins them: the row's smallest published
}

TEST(SuppressionTest, AListWithOnlyItsGrandTotalNeedsTwoSuppressedCells) {
  // Counts by group, published with their grand total only.
  Table table = Counts({{40, 3, 25, 18}});
  TableVerdict verdict = CheckTable(table, *Preset("acro"));
  Margins total_only{.rows = true, .columns = false};
  auto naive = AuditSuppression(table, Failing(table, verdict), total_only);
  ASSERT_TRUE(naive.ok());
  EXPECT_TRUE((*naive)[1]->recoverable());  // the total less the others
  auto protection = Suppress(table, verdict, total_only);
  ASSERT_TRUE(protection.ok());
  EXPECT_TRUE(protection->suppressed[3]);  // the smallest other cell, 18
  EXPECT_EQ(std::count(protection->suppressed.begin(), protection->suppressed.end(), true), 2);
  EXPECT_EQ(protection->intervals[1]->low, 0);
  EXPECT_EQ(protection->intervals[1]->high, 21);
}

// The issue-11 case: cells {1, 1, 500, 600} with their grand total and both
// 1s hidden. If a hidden cell may be empty (policies that suppress zeros)
// each could be 0, 1 or 2; if the policy publishes zeros, a hidden cell is at
// least 1 and both are exactly 1, so a third cell must be hidden too.
TEST(SuppressionTest, HiddenCellsKnownNotEmptyAreAuditedWithThatBound) {
  Table table = Counts({{1, 1, 500, 600}});
  Margins total_only{.rows = true, .columns = false};
  std::vector<bool> ones = {true, true, false, false};
  auto may_be_empty = AuditSuppression(table, ones, total_only, /*lower=*/0);
  ASSERT_TRUE(may_be_empty.ok());
  EXPECT_EQ((*may_be_empty)[0]->low, 0);
  EXPECT_EQ((*may_be_empty)[0]->high, 2);
  auto not_empty = AuditSuppression(table, ones, total_only, /*lower=*/1);
  ASSERT_TRUE(not_empty.ok());
  EXPECT_TRUE((*not_empty)[0]->recoverable());
  EXPECT_EQ((*not_empty)[0]->low, 1);

  // datashield publishes zeros and fails 1s and 2s: with the bound, the
  // smallest other cell is hidden as well, and the 1s range over [1, 500].
  Policy datashield = *Preset("datashield");
  TableVerdict verdict = CheckTable(table, datashield);
  auto protection = Suppress(table, verdict, total_only, /*lower=*/1);
  ASSERT_TRUE(protection.ok()) << protection.status();
  EXPECT_EQ(protection->suppressed, (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(protection->intervals[0]->low, 1);
  EXPECT_EQ(protection->intervals[0]->high, 500);
  // Brute force agrees: every split of the 502 with each cell at least 1.
  std::set<int64_t> values;
  for (int64_t a = 1; a <= 500; ++a) {
    for (int64_t b = 1; a + b <= 501; ++b) values.insert(a);
  }
  EXPECT_EQ(*values.begin(), protection->intervals[0]->low);
  EXPECT_EQ(*values.rbegin(), protection->intervals[0]->high);
}

TEST(SuppressionTest, NurseryNeedsComplementaryCells) {
  Table table =
      Counts({{1440, 1440, 1440}, {858, 1484, 1924}, {0, 0, 2}, {2022, 1264, 758}, {0, 132, 196}});
  TableVerdict verdict = CheckTable(table, *Preset("acro"));
  auto naive = AuditSuppression(table, Failing(table, verdict));
  ASSERT_TRUE(naive.ok());
  // recommend/pretentious and recommend/usual are alone in their columns.
  EXPECT_TRUE((*naive)[7]->recoverable());
  EXPECT_TRUE((*naive)[8]->recoverable());
  auto protection = Suppress(table, verdict);
  ASSERT_TRUE(protection.ok());
  int secondary = 0;
  for (size_t i = 0; i < table.cells.size(); ++i) {
    if (!protection->suppressed[i]) continue;
    EXPECT_FALSE(protection->intervals[i]->recoverable()) << i;
    secondary += !protection->primary[i];
  }
  EXPECT_GE(secondary, 2);
}

// A list of 10,000 small counts took minutes to protect (the audit runs
// again after each complementary cell): past its deadline Suppress gives
// up, saying so, instead of holding a thread.
TEST(SuppressionTest, GivesUpAtItsDeadline) {
  std::vector<int64_t> row;
  for (int i = 0; i < 10000; ++i) row.push_back(i % 7 == 0 ? 3 : 12 + i % 5);
  Table table = Counts({row});
  TableVerdict verdict = CheckTable(table, *Preset("acro"));
  Margins total_only{.rows = true, .columns = false};
  absl::Time started = absl::Now();
  auto protection =
      Suppress(table, verdict, total_only, 0, absl::Now() + absl::Milliseconds(200));
  ASSERT_EQ(protection.status().code(), absl::StatusCode::kDeadlineExceeded)
      << protection.status();
  EXPECT_NE(protection.status().message().find("did not finish in the time allowed"),
            std::string::npos);
  // Printed, not asserted (shared machines): how long giving up took.
  std::printf("gave up after %s\n", absl::FormatDuration(absl::Now() - started).c_str());
  // Without a deadline a small table is protected as before.
  Table small = Counts({{3, 20, 30}, {25, 4, 40}});
  EXPECT_TRUE(Suppress(small, CheckTable(small, *Preset("acro")), {}, 0,
                       absl::Now() + absl::Seconds(60))
                  .ok());
}

}  // namespace
}  // namespace trenode::disclosure
