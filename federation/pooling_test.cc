// Pooling released tables: counts add, suppressed groups are never pooled,
// summaries pool to the mean and sd of all persons together, malformed files
// are refused naming the node.
#include "federation/pooling.h"

#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/query/grid.h"

namespace trenode::federation {
namespace {

trenode::v1::AggregateQuery Query() {
  trenode::v1::AggregateQuery query;
  auto* counts = query.add_outputs();
  counts->set_name("by_sex");
  counts->mutable_counts();
  auto* crosstab = query.add_outputs();
  crosstab->set_name("sex_by_band");
  crosstab->mutable_crosstab();
  auto* summary = query.add_outputs();
  summary->set_name("lvef");
  summary->mutable_summary();
  return query;
}

// The released summary row of `values` as the node writes it.
std::string SummaryRow(const std::string& group, const std::vector<double>& values) {
  double n = static_cast<double>(values.size());
  double sum = std::accumulate(values.begin(), values.end(), 0.0);
  double mean = sum / n;
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  double sd = values.size() > 1 ? std::sqrt(squares / (n - 1)) : 0;
  return absl::StrCat(group, ",", values.size(), ",", query::FormatNumber(mean), ",",
                      query::FormatNumber(sd), ",", query::FormatNumber(sum), "\n");
}

TEST(PoolingTest, CountsAddAndASuppressedGroupIsNeverPooled) {
  SiteRelease a{"site-a",
                {{"by_sex.csv", "sex,count\nF,120\nM,95\nX,\nTotal,219\n"},
                 {"sex_by_band.csv",
                  "sex \\ band,0-49,50+,Total\nF,60,60,120\nM,40,55,95\nTotal,100,115,215\n"},
                 {"lvef.csv", "sex,n,mean,sd,sum\n" + SummaryRow("F", {40, 50, 60}) +
                                  SummaryRow("M", {30, 35})}}};
  SiteRelease b{
      "site-b",
      {{"by_sex.csv", "sex,count\nF,30\nM,41\nX,12\nTotal,83\n"},
       {"sex_by_band.csv", "sex \\ band,0-49,50+,Total\nF,10,20,30\nM,21,20,41\nTotal,31,40,71\n"},
       {"lvef.csv",
        "sex,n,mean,sd,sum\n" + SummaryRow("F", {55, 65}) + SummaryRow("M", {45, 25, 33.5, 71})}}};
  auto pooled = PoolReleased(Query(), {a, b});
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  ASSERT_EQ(pooled->result.tables_size(), 3);

  const auto& counts = pooled->result.tables(0);
  ASSERT_EQ(counts.cells_size(), 2);
  EXPECT_EQ(counts.cells(0).group(0), "F");
  EXPECT_EQ(counts.cells(0).count(), 150);
  EXPECT_EQ(counts.cells(1).count(), 136);
  // A suppressed X at site-a: site-b's 12 is not published as the pooled X.
  ASSERT_EQ(counts.withheld_size(), 1);
  EXPECT_EQ(counts.withheld(0).group(0), "X");

  const auto& crosstab = pooled->result.tables(1);
  EXPECT_EQ(crosstab.kind(), trenode::v1::OUTPUT_KIND_CROSSTAB);
  ASSERT_EQ(crosstab.group_columns_size(), 2);
  EXPECT_EQ(crosstab.group_columns(1), "band");
  ASSERT_EQ(crosstab.cells_size(), 4);
  EXPECT_EQ(crosstab.cells(3).count(), 75);  // M, 50+

  // Means and sds of every person's value together, as one site would give.
  const auto& lvef = pooled->result.tables(2);
  ASSERT_EQ(lvef.cells_size(), 2);
  std::vector<double> all_m = {30, 35, 45, 25, 33.5, 71};
  double mean = std::accumulate(all_m.begin(), all_m.end(), 0.0) / all_m.size();
  double squares = 0;
  for (double v : all_m) squares += (v - mean) * (v - mean);
  EXPECT_EQ(lvef.cells(1).n(), 6);
  EXPECT_NEAR(lvef.cells(1).mean(), mean, 1e-12);
  EXPECT_NEAR(lvef.cells(1).sd(), std::sqrt(squares / 5), 1e-9);
  // Each site is one contributor to the dominance rules: its sum.
  ASSERT_EQ(lvef.cells(1).evidence().largest_size(), 2);
  EXPECT_DOUBLE_EQ(lvef.cells(1).evidence().largest(0), 45 + 25 + 33.5 + 71);
}

TEST(PoolingTest, ACrossTabulationWithSuppressedCellsIsLeftOutWithANote) {
  SiteRelease a{"site-a",
                {{"by_sex.csv", "sex,count\nF,1\nTotal,1\n"},
                 {"sex_by_band.csv", "sex \\ band,0-49,Total\nF,,9\nTotal,9,9\n"},
                 {"lvef.csv", "sex,n,mean,sd,sum\nF,,,,\n"}}};
  auto pooled = PoolReleased(Query(), {a});
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  ASSERT_EQ(pooled->result.tables_size(), 2);  // by_sex and lvef
  EXPECT_EQ(pooled->result.tables(1).cells_size(), 0);
  EXPECT_EQ(pooled->result.tables(1).withheld_size(), 1);
  ASSERT_EQ(pooled->notes.size(), 1u);
  EXPECT_NE(pooled->notes[0].find("sex_by_band"), std::string::npos);
}

TEST(PoolingTest, AMalformedFileIsRefusedNamingTheNode) {
  SiteRelease a{
      "site-a",
      {{"by_sex.csv", "sex,count\nF,many\n"}, {"sex_by_band.csv", "x\n"}, {"lvef.csv", "x\n"}}};
  auto pooled = PoolReleased(Query(), {a});
  EXPECT_EQ(pooled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(pooled.status().message().find("site-a's by_sex.csv"), std::string::npos)
      << pooled.status();
}

TEST(PoolingTest, RegressionsAreNotPooled) {
  trenode::v1::AggregateQuery query;
  auto* regression = query.add_outputs();
  regression->set_name("fit");
  regression->mutable_regression();
  EXPECT_EQ(PoolReleased(query, {SiteRelease{"a", {}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace trenode::federation
