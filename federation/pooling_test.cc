// Pooling released tables: counts add, suppressed groups are never pooled,
// summaries pool to the mean and sd of all persons together, regressions
// pool to one OLS fit over every node's rows, malformed files are refused
// naming the node, and a part that cannot be honest is set aside with its
// reason while the others pool.
#include "federation/pooling.h"

#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/disclosure/policy.h"
#include "node/disclosure/regression.h"
#include "node/query/grid.h"
#include "node/releases/aggregate_files.h"
#include "node/releases/regression_statistics.h"

namespace trenode::federation {
namespace {

trenode::v1::GroupBy ByColumn(const std::string& column) {
  trenode::v1::GroupBy by;
  by.mutable_variable()->set_column(column);
  return by;
}

trenode::v1::AggregateQuery Query() {
  trenode::v1::AggregateQuery query;
  auto* counts = query.add_outputs();
  counts->set_name("by_sex");
  *counts->mutable_counts()->add_group_by() = ByColumn("sex");
  auto* crosstab = query.add_outputs();
  crosstab->set_name("sex_by_band");
  *crosstab->mutable_crosstab()->mutable_rows() = ByColumn("sex");
  *crosstab->mutable_crosstab()->mutable_columns() = ByColumn("band");
  auto* summary = query.add_outputs();
  summary->set_name("lvef");
  *summary->mutable_summary()->add_group_by() = ByColumn("sex");
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

// Rows of one node: y and its predictors (an intercept is added).
struct Row {
  double y;
  std::vector<double> x;
};

// What a node's query engine keeps of `rows` (intercept first), with the
// predictor named "sex" few-valued.
trenode::v1::RegressionResult Statistics(const std::vector<Row>& rows) {
  const std::vector<std::string> terms = {"intercept", "sex", "age"};
  const size_t p = terms.size();
  trenode::v1::RegressionResult r;
  for (const std::string& term : terms) r.add_terms(term);
  std::vector<double> xtx(p * p, 0), xty(p, 0);
  std::map<double, int64_t> sexes;
  double yty = 0;
  for (const Row& row : rows) {
    std::vector<double> x = {1, row.x[0], row.x[1]};
    for (size_t i = 0; i < p; ++i) {
      for (size_t j = 0; j < p; ++j) xtx[i * p + j] += x[i] * x[j];
      xty[i] += x[i] * row.y;
    }
    yty += row.y * row.y;
    ++sexes[row.x[0]];
  }
  for (double v : xtx) r.add_xtx(v);
  for (double v : xty) r.add_xty(v);
  r.set_yty(yty);
  r.set_n(static_cast<int64_t>(rows.size()));
  r.set_residual_degrees_of_freedom(r.n() - static_cast<int64_t>(p));
  r.set_max_leverage(0.05);
  auto* sex = r.add_few_valued_terms();
  sex->set_term("sex");
  for (const auto& [value, persons] : sexes) {
    sex->add_values(value);
    sex->add_persons(persons);
  }
  return r;
}

// OLS over `rows` by the textbook route, independently of the code under
// test: the normal equations by Gaussian elimination with partial pivoting
// on [X'X | X'y | I] in long double, then se_j = sqrt(s^2 [(X'X)^-1]_jj).
void DirectOls(const std::vector<Row>& rows, std::vector<double>& beta, std::vector<double>& se) {
  constexpr int p = 3;
  long double a[p][2 * p + 1] = {};
  for (const Row& row : rows) {
    long double x[p] = {1, row.x[0], row.x[1]};
    for (int i = 0; i < p; ++i) {
      for (int j = 0; j < p; ++j) a[i][j] += x[i] * x[j];
      a[i][p] += x[i] * row.y;
    }
  }
  for (int i = 0; i < p; ++i) a[i][p + 1 + i] = 1;
  for (int c = 0; c < p; ++c) {
    int pivot = c;
    for (int r = c + 1; r < p; ++r) {
      if (std::fabs(a[r][c]) > std::fabs(a[pivot][c])) pivot = r;
    }
    std::swap(a[c], a[pivot]);
    long double d = a[c][c];
    for (int k = 0; k < 2 * p + 1; ++k) a[c][k] /= d;
    for (int r = 0; r < p; ++r) {
      if (r == c) continue;
      long double f = a[r][c];
      for (int k = 0; k < 2 * p + 1; ++k) a[r][k] -= f * a[c][k];
    }
  }
  long double rss = 0;
  for (const Row& row : rows) {
    long double fitted = a[0][p] + a[1][p] * row.x[0] + a[2][p] * row.x[1];
    rss += (row.y - fitted) * (row.y - fitted);
  }
  long double s2 = rss / (static_cast<long double>(rows.size()) - p);
  beta.clear();
  se.clear();
  for (int i = 0; i < p; ++i) {
    beta.push_back(static_cast<double>(a[i][p]));
    se.push_back(static_cast<double>(std::sqrt(s2 * a[i][p + 1 + i])));
  }
}

// Rows of a node: sex 0/1, age 20-89, y depending on both with noise,
// from a fixed seed.
std::vector<Row> Rows(uint32_t seed, int count, double shift) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> sex(0, 1), age(20, 89);
  std::normal_distribution<double> noise(0, 7.5);
  std::vector<Row> rows;
  for (int i = 0; i < count; ++i) {
    Row row;
    row.x = {static_cast<double>(sex(random)), static_cast<double>(age(random))};
    row.y = 55 + shift - 3.25 * row.x[0] - 0.125 * row.x[1] + noise(random);
    rows.push_back(row);
  }
  return rows;
}

trenode::v1::AggregateQuery RegressionQuery() {
  trenode::v1::AggregateQuery query;
  auto* regression = query.add_outputs();
  regression->set_name("fit");
  regression->mutable_regression();
  return query;
}

SiteRelease RegressionSite(const std::string& node, const trenode::v1::RegressionResult& r) {
  return SiteRelease{node, {{"fit.csv", releases::RegressionStatisticsCsv(r)}}};
}

TEST(PoolingTest, PooledRegressionIsOneOlsFitOverEveryNodesRows) {
  std::vector<Row> a = Rows(1, 400, 0), b = Rows(2, 250, 4), c = Rows(3, 120, -2);
  auto pooled = PoolReleased(RegressionQuery(), {RegressionSite("site-a", Statistics(a)),
                                                 RegressionSite("site-b", Statistics(b)),
                                                 RegressionSite("site-c", Statistics(c))});
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  ASSERT_EQ(pooled->result.tables_size(), 1);
  const auto& table = pooled->result.tables(0);
  EXPECT_EQ(table.kind(), trenode::v1::OUTPUT_KIND_REGRESSION);
  const auto& r = table.regression();
  EXPECT_EQ(r.n(), 770);
  EXPECT_EQ(r.residual_degrees_of_freedom(), 767);
  ASSERT_EQ(r.few_valued_terms_size(), 1);
  EXPECT_EQ(r.few_valued_terms(0).persons(0) + r.few_valued_terms(0).persons(1), 770);

  std::vector<Row> all = a;
  all.insert(all.end(), b.begin(), b.end());
  all.insert(all.end(), c.begin(), c.end());
  std::vector<double> beta, se;
  DirectOls(all, beta, se);
  auto fit = disclosure::FitOls({r.xtx().begin(), r.xtx().end()}, {r.xty().begin(), r.xty().end()},
                                r.yty(), r.n());
  ASSERT_TRUE(fit.ok()) << fit.status();
  double worst = 0;
  for (size_t i = 0; i < 3; ++i) {
    worst = std::max(worst, std::fabs(fit->coefficients[i] - beta[i]) / std::fabs(beta[i]));
    worst = std::max(worst, std::fabs(fit->standard_errors[i] - se[i]) / se[i]);
  }
  EXPECT_LT(worst, 1e-9);
  std::cout << "pooled vs direct OLS: largest relative difference " << worst << "\n";

  // The home node's release file of the pooled result is that fit.
  auto files = releases::AggregateFiles(pooled->result, nullptr, *disclosure::Preset("acro"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files[0].bytes.find(absl::StrCat("sex,", query::FormatNumber(fit->coefficients[1]))),
            std::string::npos)
      << files[0].bytes;
}

// `pooled` succeeded with exactly one part set aside, `node`'s, for a
// reason naming its file and holding `why`.
void ExpectRefused(const absl::StatusOr<Pooled>& pooled, const std::string& node,
                   const std::string& file, const std::string& why) {
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  ASSERT_EQ(pooled->refused.size(), 1u) << why;
  EXPECT_EQ(pooled->refused[0].node_id, node);
  EXPECT_NE(pooled->refused[0].reason.find(absl::StrCat(node, "'s ", file)), std::string::npos)
      << pooled->refused[0].reason;
  EXPECT_NE(pooled->refused[0].reason.find(why), std::string::npos) << pooled->refused[0].reason;
}

TEST(PoolingTest, RegressionsWithOtherTermsAreNotPooled) {
  trenode::v1::RegressionResult other = Statistics(Rows(2, 50, 0));
  other.set_terms(2, "year_of_birth");
  auto pooled = PoolReleased(
      RegressionQuery(),
      {RegressionSite("site-a", Statistics(Rows(1, 50, 0))), RegressionSite("site-b", other)});
  ExpectRefused(pooled, "site-b", "fit.csv", "year_of_birth");
  ASSERT_TRUE(pooled.ok());
  EXPECT_EQ(pooled->result.tables(0).regression().n(), 50);
}

TEST(PoolingTest, AMalformedRegressionFileIsRefusedNamingTheNode) {
  const std::string good = releases::RegressionStatisticsCsv(Statistics(Rows(1, 50, 0)));
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
  };
  const std::vector<std::string> malformed = {
      "",
      "term,coefficient,std_error\nintercept,1,2\n",         // a fit, not statistics
      replace("yty,,,", "yty,,,nan"),                        // not a number
      replace("yty,,,", "yty,,,inf"),                        // not finite
      replace("n,,,50", "n,,,-50"),                          // not a count
      replace("n,,,50", "n,,,51"),                           // residual_dof does not follow
      replace("residual_dof,,,47\n", ""),                    // missing
      replace("n,,,50\n", "n,,,50\nn,,,50\n"),               // twice
      replace("max_leverage,,,0.05", "max_leverage,,,1.5"),  // out of range
      replace("xtx,sex,intercept,", "xtx,intercept,sex,"),   // not row-major
      replace("xtx,age,age,", "xtx,age,sex,"),               // not row-major
      replace("persons_with_value,sex,", "persons_with_value,height,"),  // not a term
      replace("xty,age,,", "xtx,age,,"),                                 // xtx before every xty
      good + "coefficient,sex,,1\n",                                     // not a statistic
      good + "n,,\n",                                                    // too few fields
  };
  for (const std::string& text : malformed) {
    auto pooled = PoolReleased(RegressionQuery(), {SiteRelease{"site-b", {{"fit.csv", text}}}});
    EXPECT_EQ(pooled.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(pooled.status().message().find("site-b's fit.csv"), std::string::npos)
        << pooled.status() << "\n"
        << text;
  }
  // A y'y that is not finite, as a node would write it.
  trenode::v1::RegressionResult infinite = Statistics(Rows(1, 50, 0));
  infinite.set_yty(std::numeric_limits<double>::infinity());
  EXPECT_EQ(PoolReleased(RegressionQuery(), {RegressionSite("site-b", infinite)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // An asymmetric X'X.
  trenode::v1::RegressionResult asymmetric = Statistics(Rows(1, 50, 0));
  asymmetric.set_xtx(1, asymmetric.xtx(1) + 1);
  EXPECT_EQ(PoolReleased(RegressionQuery(), {RegressionSite("site-b", asymmetric)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Far too many terms.
  std::string huge = "statistic,term,with,value\n";
  for (int i = 0; i < 40; ++i) absl::StrAppend(&huge, "xty,t", i, ",,1\n");
  EXPECT_EQ(
      PoolReleased(RegressionQuery(), {SiteRelease{"site-b", {{"fit.csv", huge}}}}).status().code(),
      absl::StatusCode::kInvalidArgument);
  // The file as written reads back as it was.
  auto read = releases::ParseRegressionStatistics(good, "good");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), Statistics(Rows(1, 50, 0)).SerializeAsString());
}

TEST(PoolingTest, ASingularPooledRegressionIsAClearError) {
  // Everyone at both nodes is the same age: age is the intercept times a constant.
  std::vector<Row> a = Rows(1, 60, 0), b = Rows(2, 60, 0);
  for (auto* rows : {&a, &b}) {
    for (Row& row : *rows) row.x[1] = 50;
  }
  auto pooled = PoolReleased(RegressionQuery(), {RegressionSite("site-a", Statistics(a)),
                                                 RegressionSite("site-b", Statistics(b))});
  EXPECT_EQ(pooled.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(pooled.status().message().find("singular"), std::string::npos) << pooled.status();
  EXPECT_NE(pooled.status().message().find("fit"), std::string::npos) << pooled.status();
}

TEST(PoolingTest, FewValuedTermsPoolPerValueAndLeverageIsTheLargestAtAnyNode) {
  trenode::v1::RegressionResult a = Statistics(Rows(1, 80, 0));
  trenode::v1::RegressionResult b = Statistics(Rows(2, 40, 0));
  b.set_max_leverage(0.08);
  // age is few-valued at site-a only (as if everyone there were 40): not
  // few-valued pooled.
  auto* age = a.add_few_valued_terms();
  age->set_term("age");
  age->add_values(40);
  age->add_persons(80);
  auto pooled =
      PoolReleased(RegressionQuery(), {RegressionSite("site-a", a), RegressionSite("site-b", b)});
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  const auto& r = pooled->result.tables(0).regression();
  EXPECT_DOUBLE_EQ(r.max_leverage(), 0.08);
  ASSERT_EQ(r.few_valued_terms_size(), 1);
  const auto& sex = r.few_valued_terms(0);
  ASSERT_EQ(sex.values_size(), 2);
  EXPECT_EQ(sex.persons(0), a.few_valued_terms(0).persons(0) + b.few_valued_terms(0).persons(0));
  EXPECT_EQ(sex.persons(1), a.few_valued_terms(0).persons(1) + b.few_valued_terms(0).persons(1));
}

// A part that would make a pooled number infinite is set aside, though
// each part alone is finite; the others pool.
TEST(PoolingTest, SumsThatOverflowToInfinityAreRefused) {
  // Summaries: each node's sum of squares is 1e308, the two together pass
  // the largest double.
  const std::string big = "sex,n,mean,sd,sum\nF,1,1e+154,0,1e+154\n";
  auto summary = [&](const std::string& node) {
    return SiteRelease{node,
                       {{"by_sex.csv", "sex,count\nF,10\n"},
                        {"sex_by_band.csv", "sex \\ band,0-49,Total\nF,10,10\n"},
                        {"lvef.csv", big}}};
  };
  auto pooled = PoolReleased(Query(), {summary("site-a"), summary("site-b")});
  ExpectRefused(pooled, "site-b", "lvef.csv", "makes the pooled sum of squares infinite");
  ASSERT_TRUE(pooled.ok());
  EXPECT_EQ(pooled->result.tables(0).cells(0).count(), 10);  // site-a's alone

  // Regressions: the outcome scaled so that each node's y'y is 1e308
  // (still possible statistics), the two together infinite.
  trenode::v1::RegressionResult r = Statistics(Rows(1, 50, 0));
  const double scale = std::sqrt(1e308 / r.yty());
  for (int i = 0; i < 3; ++i) r.set_xty(i, r.xty(i) * scale);
  r.set_yty(1e308);
  auto regression =
      PoolReleased(RegressionQuery(), {RegressionSite("site-b", r), RegressionSite("site-c", r)});
  ExpectRefused(regression, "site-c", "fit.csv", "makes the pooled y'y infinite");
  ASSERT_TRUE(regression.ok());
  EXPECT_EQ(regression->result.tables(0).regression().n(), 50);  // site-b's alone
}

TEST(PoolingTest, InconsistentSummaryIsRefused) {
  const SiteRelease honest{"site-a",
                           {{"by_sex.csv", "sex,count\nF,3\n"},
                            {"sex_by_band.csv", "sex \\ band,0-49,Total\nF,3,3\n"},
                            {"lvef.csv", "sex,n,mean,sd,sum\n" + SummaryRow("F", {40, 50, 60})}}};
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"F,3,50,-10,150\n", "sd is negative"},
      {"F,3,50,10,900\n", "is not n times the mean"},
      {"F,2,1e+308,0,1e+308\n", "is not n times the mean"},
  };
  for (const auto& [row, why] : hostile) {
    SiteRelease bad = honest;
    bad.node_id = "site-b";
    bad.files["lvef.csv"] = "sex,n,mean,sd,sum\n" + row;
    auto pooled = PoolReleased(Query(), {honest, bad});
    ExpectRefused(pooled, "site-b", "lvef.csv", why);
    ASSERT_TRUE(pooled.ok());
    EXPECT_EQ(pooled->result.tables(2).cells(0).n(), 3);  // site-a's alone
  }
}

TEST(PoolingTest, RegressionStatisticsNoRowsCouldGiveAreRefused) {
  const trenode::v1::RegressionResult honest = Statistics(Rows(1, 50, 0));
  // X'X[sex, age] beyond sqrt(X'X[sex, sex] X'X[age, age]), kept symmetric.
  trenode::v1::RegressionResult schwarz = honest;
  const double beyond = 2 * std::sqrt(honest.xtx(4) * honest.xtx(8));
  schwarz.set_xtx(5, beyond);
  schwarz.set_xtx(7, beyond);
  // The intercept's diagonal is not n.
  trenode::v1::RegressionResult intercept = honest;
  intercept.set_xtx(0, honest.n() + 1);
  // X'y[age] beyond sqrt(X'X[age, age] y'y).
  trenode::v1::RegressionResult outcome = honest;
  outcome.set_xty(2, 2 * std::sqrt(honest.xtx(8) * honest.yty()));
  // A negative diagonal entry (refused when the file is read).
  trenode::v1::RegressionResult negative = honest;
  negative.set_xtx(4, -1);
  const std::vector<std::pair<trenode::v1::RegressionResult, std::string>> hostile = {
      {schwarz, "X'X[age, sex] is larger than Cauchy-Schwarz allows"},
      {intercept, "X'X[intercept, intercept] is 51, not n (50)"},
      {outcome, "X'y[age] is larger than Cauchy-Schwarz allows"},
      {negative, "negative diagonal"},
  };
  for (const auto& [statistics, why] : hostile) {
    auto pooled =
        PoolReleased(RegressionQuery(), {RegressionSite("site-a", Statistics(Rows(2, 60, 0))),
                                         RegressionSite("site-b", statistics)});
    ExpectRefused(pooled, "site-b", "fit.csv", why);
    ASSERT_TRUE(pooled.ok());
    EXPECT_EQ(pooled->result.tables(0).regression().n(), 60);  // site-a's alone
  }
}

TEST(PoolingTest, GroupsTheQuestionCannotProduceAreRefused) {
  trenode::v1::AggregateQuery query;
  auto* counts = query.add_outputs();
  counts->set_name("by_age");
  trenode::v1::GroupBy* age = counts->mutable_counts()->add_group_by();
  age->mutable_variable()->set_column("age");
  age->mutable_binning()->add_boundaries(40);
  age->mutable_binning()->add_boundaries(65);
  trenode::v1::GroupBy* smoker = counts->mutable_counts()->add_group_by();
  smoker->mutable_variable()->mutable_indicator();
  *counts->mutable_counts()->add_group_by() = ByColumn("region");
  auto site = [](const std::string& node, const std::string& rows) {
    return SiteRelease{node, {{"by_age.csv", "age,smoker,region,count\n" + rows}}};
  };
  const SiteRelease honest =
      site("site-a", "<40,0,North,10\n\"[40,65)\",1,South,12\n>=65,0,(missing),9\n");
  std::string many;
  for (int i = 0; i < 1003; ++i) absl::StrAppend(&many, "<40,0,r", i, ",10\n");
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"\"[40,50)\",0,North,10\n", "is not a bin of the question"},
      {"<40,2,North,10\n", "is not 0 or 1"},
      {"<40,0,\"=HYPERLINK(\"\"http://x\"\")\",10\n", "could start a spreadsheet formula"},
      {"<40,0,+1,10\n", "could start a spreadsheet formula"},
      {"<40,0,-1,10\n", "could start a spreadsheet formula"},
      {"<40,0,@SUM(A1),10\n", "could start a spreadsheet formula"},
      {"<40,0,\"North\x01\",10\n", "is not printable"},
      {many, "more labels in group column 3 than the question can produce (1002)"},
  };
  for (const auto& [rows, why] : hostile) {
    auto pooled = PoolReleased(query, {honest, site("site-b", rows)});
    ExpectRefused(pooled, "site-b", "by_age.csv", why);
    ASSERT_TRUE(pooled.ok());
    EXPECT_EQ(pooled->result.tables(0).cells_size(), 3);  // site-a's alone
  }
  // A file with other group columns than the question's.
  auto pooled =
      PoolReleased(query, {honest, SiteRelease{"site-b", {{"by_age.csv", "age,count\n<40,10\n"}}}});
  ExpectRefused(pooled, "site-b", "by_age.csv", "1 group columns, the question has 3");
}

// Setting a hostile part aside leaves the honest parts pooled exactly as
// they pool without it.
TEST(PoolingTest, AnHonestPartStillPoolsExactly) {
  const trenode::v1::RegressionResult a = Statistics(Rows(1, 400, 0)),
                                      b = Statistics(Rows(2, 250, 4));
  trenode::v1::RegressionResult hostile = Statistics(Rows(3, 120, -2));
  hostile.set_xtx(0, 1e9);
  auto without =
      PoolReleased(RegressionQuery(), {RegressionSite("site-a", a), RegressionSite("site-b", b)});
  auto with = PoolReleased(RegressionQuery(),
                           {RegressionSite("site-a", a), RegressionSite("site-c", hostile),
                            RegressionSite("site-b", b)});
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_TRUE(without->refused.empty());
  ExpectRefused(with, "site-c", "fit.csv", "not n (120)");
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->result.SerializeAsString(), without->result.SerializeAsString());
  EXPECT_EQ(with->result.tables(0).regression().n(), 650);
}

}  // namespace
}  // namespace trenode::federation
