// The statement's CSV and table: one row per line, and a total row equal to
// the sum of the lines' costs.
#include "node/trectl/usage_statement.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace trenode::trectl {
namespace {

trenode::v1::ProjectUsage Statement() {
  trenode::v1::ProjectUsage usage;
  usage.set_project_id("hf");
  usage.set_month("2027-01");
  usage.set_currency("GBP");
  int64_t total = 0;
  for (int64_t cost : {1'250'000, 3, 40'000}) {
    trenode::v1::UsageLine* line = usage.add_lines();
    line->set_analysis_id(absl::StrCat("a-", cost));
    line->set_kind("script");
    line->set_state(trenode::v1::ANALYSIS_STATE_SUCCEEDED);
    line->mutable_usage()->set_cpu_micros(1'500'000);
    line->mutable_usage()->set_metered_by("cgroup-v1");
    line->mutable_cost()->set_total_micros(cost);
    total += cost;
  }
  usage.set_total_micros(total);
  return usage;
}

TEST(UsageStatementTest, CsvTotalRowIsTheSumOfItsLines) {
  std::vector<std::string> rows = absl::StrSplit(StatementCsv(Statement()), '\n',
                                                 absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 5u);  // header, three lines, total
  double sum = 0;
  for (size_t r = 1; r + 1 < rows.size(); ++r) {
    std::vector<std::string> cells = absl::StrSplit(rows[r], ',');
    ASSERT_EQ(cells.size(), 17u) << rows[r];
    EXPECT_EQ(cells[6], "1.500000");
    double cost;
    ASSERT_TRUE(absl::SimpleAtod(cells[16], &cost));
    EXPECT_EQ(cells[15], "yes");
    sum += cost;
  }
  EXPECT_EQ(rows[1].substr(rows[1].rfind(',') + 1), "1.250000");
  EXPECT_EQ(rows[2].substr(rows[2].rfind(',') + 1), "0.000003");
  EXPECT_EQ(rows.back(), "total,,,,,,,,,,,,,,GBP,,1.290003");
  EXPECT_NEAR(sum, 1.290003, 1e-9);
}

TEST(UsageStatementTest, StorageAndEgressLinesAddToTheTotal) {
  trenode::v1::ProjectUsage usage = Statement();
  trenode::v1::UsageLine* storage = usage.add_lines();
  storage->set_kind("storage");
  storage->set_analysis_id("released copies");
  storage->set_stored_byte_seconds(2'678'400);
  auto* line = storage->mutable_cost()->add_lines();
  line->set_item("storage");
  line->set_quantity("0.000001 GiB-month");
  storage->mutable_cost()->set_total_micros(7);
  trenode::v1::UsageLine* egress = usage.add_lines();
  egress->set_kind("egress");
  egress->set_analysis_id("3 downloads");
  egress->set_egress_bytes(3000);
  egress->mutable_cost()->set_total_micros(11);
  usage.set_total_micros(usage.total_micros() + 18);
  std::vector<std::string> rows = absl::StrSplit(StatementCsv(usage), '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[4].substr(0, 29), "released copies,,storage,unsp");
  EXPECT_NE(rows[4].find(",2678400,0,GBP,yes,0.000007"), std::string::npos) << rows[4];
  EXPECT_NE(rows[5].find(",0,3000,GBP,yes,0.000011"), std::string::npos) << rows[5];
  EXPECT_EQ(rows.back(), "total,,,,,,,,,,,,,,GBP,,1.290021");
  std::string table = StatementTable(usage);
  EXPECT_NE(table.find("0.000001 GiB-month"), std::string::npos) << table;
  EXPECT_NE(table.find("3000 bytes sent"), std::string::npos) << table;
  EXPECT_NE(table.find("(3 analyses, storage, egress and partners' parts)"), std::string::npos)
      << table;
}

TEST(UsageStatementTest, APartnersPartInAnotherCurrencyIsListedOutsideTheTotal) {
  trenode::v1::ProjectUsage usage = Statement();
  trenode::v1::UsageLine* part = usage.add_lines();
  part->set_kind("site");
  part->set_analysis_id("a-fed");
  part->set_submitter("reported by site-b");
  part->set_outside_total(true);
  part->mutable_cost()->set_currency("EUR");
  part->mutable_cost()->set_total_micros(2'000'000);
  std::vector<std::string> rows = absl::StrSplit(StatementCsv(usage), '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[4].substr(0, 32), "a-fed,reported by site-b,site,un");
  EXPECT_NE(rows[4].find(",EUR,no,2.000000"), std::string::npos) << rows[4];
  EXPECT_EQ(rows.back(), "total,,,,,,,,,,,,,,GBP,,1.290003");  // not in it
  EXPECT_NE(StatementTable(usage).find("2.00 EUR (not in total)"), std::string::npos);
}

TEST(UsageStatementTest, TableShowsTheTotalAndBudget) {
  trenode::v1::ProjectUsage usage = Statement();
  usage.mutable_budget()->set_monthly_micros(10'000'000);
  usage.mutable_budget()->set_committed_micros(usage.total_micros());
  std::string table = StatementTable(usage);
  EXPECT_NE(table.find("total:     1.290003 GBP (3 analyses)"), std::string::npos) << table;
  EXPECT_NE(table.find("budget:    10.00 GBP a month; committed this month 1.290003"),
            std::string::npos)
      << table;
}

}  // namespace
}  // namespace trenode::trectl
