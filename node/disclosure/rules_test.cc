// Each rule at its exact boundary, each preset, and the nursery crosstab
// whose expected verdicts come from its source (tests/testdata/sdc).
#include "node/disclosure/rules.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "node/disclosure/acro_results.h"
#include "node/disclosure/policy.h"
#include "node/disclosure/table.h"

namespace trenode::disclosure {
namespace {

Policy Acro() { return *Preset("acro"); }

CellFacts Count(int64_t n) {
  CellFacts facts;
  facts.contributors = n;
  return facts;
}

// The rules a cell did not pass, in order.
std::vector<std::string> Failed(const CellFacts& cell, const Policy& policy) {
  std::vector<std::string> rules;
  for (const RuleOutcome& outcome : CheckCell(cell, policy).outcomes) rules.push_back(outcome.rule);
  return rules;
}

using Rules = std::vector<std::string>;

TEST(RulesTest, ThresholdFailsBelowItAndPassesAtIt) {
  EXPECT_EQ(Failed(Count(10), Acro()), Rules{});
  EXPECT_EQ(Failed(Count(9), Acro()), Rules{kThreshold});
  EXPECT_EQ(CheckCell(Count(9), Acro()).verdict, Verdict::kFail);
  EXPECT_EQ(Failed(Count(0), Acro()), (Rules{kZeros, kThreshold}));
}

TEST(RulesTest, DominanceFailsAtExactlyKAsAcroDoes) {
  // ACRO fails a cell whose n largest are k% or more of the total: two
  // largest 90 of 100 fail at k = 90%; 89 of 100 pass.
  CellFacts exactly = MagnitudeFacts({45, 45, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});  // 100 in total
  EXPECT_EQ(exactly.total, 100);
  EXPECT_EQ(Failed(exactly, Acro()), Rules{kNkRule});
  CellFacts below = MagnitudeFacts({45, 44, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});  // 89 of 100
  EXPECT_EQ(below.total, 100);
  EXPECT_EQ(Failed(below, Acro()), Rules{});
}

TEST(RulesTest, PPercentFailsBelowPAndPassesExactlyAtP) {
  Policy p_only = Acro();
  ASSERT_TRUE(Override(p_only, "nk_n", "0").ok());
  ASSERT_TRUE(Override(p_only, "threshold", "0").ok());
  // Largest 100, second 50: the others sum to exactly 10% of 100 (passes),
  // then to 9 (fails).
  EXPECT_EQ(Failed(MagnitudeFacts({100, 50, 5, 5}), p_only), Rules{});
  EXPECT_EQ(Failed(MagnitudeFacts({100, 50, 5, 4}), p_only), Rules{kPRatio});
  // A single contributor is fully disclosed to itself.
  EXPECT_EQ(Failed(MagnitudeFacts({100}), p_only), (Rules{kSameValue, kPRatio}));
}

TEST(RulesTest, NegativeContributionsAndSameValuesAreForReview) {
  CellVerdict negative = CheckCell(MagnitudeFacts({50, -5, 7, 7, 7, 7, 7, 7, 7, 7}), Acro());
  EXPECT_EQ(negative.verdict, Verdict::kReview);
  ASSERT_EQ(negative.outcomes.size(), 1u);
  EXPECT_EQ(negative.outcomes[0].rule, kNegative);

  CellVerdict same = CheckCell(MagnitudeFacts(std::vector<int64_t>(12, 30)), Acro());
  EXPECT_EQ(same.verdict, Verdict::kReview);
  EXPECT_EQ(same.outcomes[0].rule, kSameValue);
}

TEST(RulesTest, RegressionNeedsEnoughResidualDegreesOfFreedom) {
  EXPECT_EQ(CheckRegression(10, Acro()).verdict, Verdict::kPass);
  EXPECT_EQ(CheckRegression(9, Acro()).verdict, Verdict::kFail);
  EXPECT_EQ(CheckRegression(9, Acro()).outcomes[0].reason,
            "9 residual degrees of freedom, fewer than 10");
}

TEST(RulesTest, OtherPresetsAtTheirBoundaries) {
  Policy opensafely = *Preset("opensafely");
  EXPECT_EQ(Failed(Count(7), opensafely), Rules{kRedact});
  EXPECT_EQ(Failed(Count(8), opensafely), Rules{});
  EXPECT_EQ(Failed(Count(0), opensafely), Rules{kRedact});
  EXPECT_EQ(opensafely.rounding_base, 5);

  Policy datashield = *Preset("datashield");
  EXPECT_EQ(Failed(Count(2), datashield), Rules{kMinNonzero});
  EXPECT_EQ(Failed(Count(3), datashield), Rules{});
  EXPECT_EQ(Failed(Count(0), datashield), Rules{});  // zeros are allowed

  EXPECT_EQ(Preset("strict").status().code(), absl::StatusCode::kNotFound);
  Policy policy = Acro();
  EXPECT_TRUE(Override(policy, "threshold", "5").ok());
  EXPECT_EQ(Failed(Count(5), policy), Rules{});
  EXPECT_EQ(Override(policy, "p_percent", "101").message(),
            "p_percent: \"101\" is not a whole number from 0 to 100");
  EXPECT_EQ(Override(policy, "colour", "1").message(), "no policy parameter \"colour\"");
}

// class x parents of the UCI nursery data.
Table Nursery() {
  std::ifstream in(std::string(TRENODE_SOURCE_DIR) +
                   "/tests/testdata/sdc/nursery_class_by_parents.csv");
  Table table;
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header = absl::StrSplit(line, ',');
  table.column_labels.assign(header.begin() + 1, header.end());
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    table.row_labels.push_back(fields[0]);
    for (size_t i = 1; i < fields.size(); ++i) {
      int64_t count = 0;
      EXPECT_TRUE(absl::SimpleAtoi(fields[i], &count));
      table.cells.push_back(Count(count));
    }
  }
  return table;
}

TEST(TableTest, NurseryCrosstabFailsWhereAcroSaysItDoes) {
  Table table = Nursery();
  ASSERT_EQ(table.row_labels.size(), 5u);
  int64_t total = 0;
  for (const CellFacts& cell : table.cells) total += cell.contributors;
  EXPECT_EQ(total, 12960);
  TableVerdict verdict = CheckTable(table, Acro());
  EXPECT_EQ(verdict.verdict, Verdict::kFail);
  using Cells = std::vector<std::pair<int, int>>;
  // recommend/{great_pret, pretentious, usual} and very_recom/great_pret.
  EXPECT_EQ(verdict.by_rule[kThreshold], (Cells{{2, 0}, {2, 1}, {2, 2}, {4, 0}}));
  EXPECT_EQ(verdict.by_rule[kZeros], (Cells{{2, 0}, {2, 1}, {4, 0}}));
  EXPECT_EQ(Summary(verdict),
            "fail; threshold: 4 cells may need suppressing; zeros: 3 cells may need suppressing; ");

  std::string json = AcroResultsJson({{"output_0", "crosstab", "output_0.csv", &table, &verdict}},
                                     absl::UnixEpoch());
  EXPECT_TRUE(absl::StrContains(json, "\"status\": \"fail\"")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"threshold\": [[2, 0], [2, 1], [2, 2], [4, 0]]")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"threshold\": 4")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"recommend\": {\"great_pret\": \"zeros; threshold;\""))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"not_recom\": {\"great_pret\": \"ok\"")) << json;
}

}  // namespace
}  // namespace trenode::disclosure
