// The pure charging core: money parsing and formatting, the price table,
// costs and the budget check.
#include <limits>
#include <thread>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "node/charging/budget.h"
#include "node/charging/money.h"
#include "node/charging/prices.h"

namespace trenode::charging {
namespace {

TEST(MoneyTest, ParsesDecimalTextExactly) {
  EXPECT_EQ(*ParseMoney("12", "x"), 12'000'000);
  EXPECT_EQ(*ParseMoney("0.045", "x"), 45'000);
  EXPECT_EQ(*ParseMoney("250.00", "x"), 250'000'000);
  EXPECT_EQ(*ParseMoney("0.000001", "x"), 1);
  EXPECT_EQ(*ParseMoney("", "x"), 0);
  for (const char* bad : {"-1", "1.0000001", "1.2.3", "1,5", ".5", "5.", "1e3", "abc",
                          "10000000000000"}) {
    absl::StatusOr<int64_t> parsed = ParseMoney(bad, "charging.prices[0].cpu_hour");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(parsed.status().message().find("charging.prices[0].cpu_hour"), std::string::npos);
  }
}

TEST(MoneyTest, FormatsWithAtLeastTwoDecimals) {
  EXPECT_EQ(FormatMoney(1'500'000), "1.50");
  EXPECT_EQ(FormatMoney(1'234), "0.001234");
  EXPECT_EQ(FormatMoney(0), "0.00");
  EXPECT_EQ(FormatMoney(-5'000'000), "-5.00");
  EXPECT_EQ(FormatMoney(45'000), "0.045");
}

TEST(MoneyTest, RoundsHalfUpWithoutOverflow) {
  EXPECT_EQ(MulDivRound(1, 1, 2), 1);  // 0.5 -> 1
  EXPECT_EQ(MulDivRound(1, 1, 3), 0);
  EXPECT_EQ(MulDivRound(int64_t{1} << 62, 1000, int64_t{1} << 40), int64_t{1000} << 22);
  EXPECT_EQ(MulDivRound(-1, 5, 2), 0);
}

trenode::v1::ChargingConfig Config() {
  trenode::v1::ChargingConfig config;
  config.set_currency("GBP");
  auto* sandbox = config.add_prices();
  sandbox->set_backend("sandbox");
  sandbox->set_cpu_hour("0.05");
  sandbox->set_memory_gib_hour("0.01");
  sandbox->set_per_analysis("0.10");
  auto* query = config.add_prices();
  query->set_backend("query");
  query->set_cpu_hour("0.02");
  return config;
}

TEST(PriceTableTest, CostIsTheSumOfItsRoundedLines) {
  absl::StatusOr<PriceTable> table = PriceTable::FromConfig(Config());
  ASSERT_TRUE(table.ok()) << table.status();
  trenode::v1::Usage usage;
  usage.set_backend("sandbox");
  usage.set_cpu_micros(int64_t{1800} * 1'000'000);  // half a CPU-hour: 0.025
  usage.set_peak_memory_bytes(int64_t{2} << 30);    // 2 GiB ...
  usage.set_wall_micros(int64_t{900} * 1'000'000);  // ... for a quarter hour: 0.005
  trenode::v1::Cost cost = table->CostOf(usage);
  EXPECT_EQ(cost.currency(), "GBP");
  ASSERT_EQ(cost.lines_size(), 3);
  EXPECT_EQ(cost.lines(0).item(), "cpu");
  EXPECT_EQ(cost.lines(0).micros(), 25'000);
  EXPECT_EQ(cost.lines(0).quantity(), "0.500000 cpu-hour");
  EXPECT_EQ(cost.lines(1).micros(), 5'000);
  EXPECT_EQ(cost.lines(2).micros(), 100'000);
  EXPECT_EQ(cost.total_micros(), 130'000);

  usage.set_backend("slurm");  // no row: free
  EXPECT_EQ(table->CostOf(usage).total_micros(), 0);
  usage.set_backend("query");
  usage.set_cpu_micros(1);  // 1 us at 0.02/h = 5.6e-6 micro-units: rounds to 0
  EXPECT_EQ(table->CostOf(usage).total_micros(), 0);
}

TEST(PriceTableTest, BadConfigIsRefusedNamingTheField) {
  trenode::v1::ChargingConfig config = Config();
  config.set_currency("pounds");
  EXPECT_NE(PriceTable::FromConfig(config).status().message().find("charging.currency"),
            std::string::npos);
  config = Config();
  config.mutable_prices(1)->set_backend("sandbox");
  EXPECT_NE(PriceTable::FromConfig(config).status().message().find("has a row already"),
            std::string::npos);
  config = Config();
  config.mutable_prices(0)->set_backend("gpu");
  EXPECT_EQ(PriceTable::FromConfig(config).status().code(), absl::StatusCode::kInvalidArgument);
  config = Config();
  config.mutable_prices(0)->set_egress_gib("0.1.2");
  EXPECT_NE(PriceTable::FromConfig(config).status().message().find("charging.prices[0].egress_gib"),
            std::string::npos);
}

// Absurd prices are refused at config load, naming the field; absurd usage
// (a counter near 2^63, or negative) never overflows: each line saturates,
// the total is still the exact sum of its lines, and a saturated cost is
// refused by any budget rather than wrapping round to a negative that fits.
TEST(PriceTableTest, ExtremePricesAreRefusedAndExtremeUsageSaturates) {
  trenode::v1::ChargingConfig config = Config();
  config.mutable_prices(0)->set_memory_gib_hour("1000000000.000001");
  absl::Status refused = PriceTable::FromConfig(config).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("charging.prices[0].memory_gib_hour"), std::string::npos)
      << refused;
  EXPECT_NE(refused.message().find("the most a price may be"), std::string::npos) << refused;
  config.mutable_prices(0)->set_memory_gib_hour("1000000000");  // the most: accepted

  config.mutable_prices(0)->set_cpu_hour("1000000000");
  config.mutable_prices(0)->set_per_analysis("1000000000");
  absl::StatusOr<PriceTable> table = PriceTable::FromConfig(config);
  ASSERT_TRUE(table.ok()) << table.status();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  trenode::v1::Usage usage;
  usage.set_backend("sandbox");
  usage.set_cpu_micros(kMax);
  usage.set_wall_micros(kMax);
  usage.set_peak_memory_bytes(kMax);
  trenode::v1::Cost cost = table->CostOf(usage);
  ASSERT_EQ(cost.lines_size(), 3);
  int64_t sum = 0;
  for (const trenode::v1::CostLine& line : cost.lines()) {
    EXPECT_GE(line.micros(), 0);
    EXPECT_LE(line.micros(), kMaxLineMicros);
    sum += line.micros();
  }
  EXPECT_EQ(cost.lines(0).micros(), kMaxLineMicros);
  EXPECT_EQ(cost.lines(1).micros(), kMaxLineMicros);
  EXPECT_EQ(cost.total_micros(), sum);
  EXPECT_GT(cost.total_micros(), 0);
  EXPECT_EQ(cost.lines(1).quantity(), "> 1000000000000 GiB-hour");
  // Negative counters count as nothing.
  usage.set_cpu_micros(-5);
  usage.set_wall_micros(std::numeric_limits<int64_t>::min());
  cost = table->CostOf(usage);
  EXPECT_EQ(cost.lines(0).micros(), 0);
  EXPECT_EQ(cost.lines(1).micros(), 0);
  EXPECT_EQ(cost.total_micros(), 1'000'000'000'000'000);  // the fee alone

  // Sums saturate, so a budget refuses them.
  EXPECT_EQ(SaturatingAdd(kMax, 1), kMax);
  EXPECT_EQ(SaturatingAdd(kMax - 1, kMax - 1), kMax);
  EXPECT_EQ(SaturatingAdd(-7, 3), 3);
  EXPECT_EQ(SaturatingMul(kMax / 2, 3), kMax);
  EXPECT_EQ(SaturatingMul(4, 5), 20);
  EXPECT_EQ(MulMulDivRound(kMax, kMax, kMax, 1), kMax);
  trenode::v1::Budget budget;
  budget.set_project_id("p1");
  budget.set_monthly_micros(*ParseMoney("1000000000000", "monthly"));
  budget.set_cpu_seconds_quota(1'000'000'000'000);
  trenode::v1::Estimate estimate;
  estimate.mutable_cost()->set_total_micros(kMax);
  EXPECT_EQ(CheckBudget(budget, "GBP", "2027-01", Committed{.micros = kMax}, estimate).code(),
            absl::StatusCode::kResourceExhausted);
  estimate.mutable_cost()->set_total_micros(1);
  estimate.mutable_usage()->set_cpu_micros(kMax);
  EXPECT_EQ(CheckBudget(budget, "GBP", "2027-01", Committed{.cpu_micros = kMax}, estimate).code(),
            absl::StatusCode::kResourceExhausted);
  estimate.mutable_usage()->set_cpu_micros(1);
  EXPECT_TRUE(CheckBudget(budget, "GBP", "2027-01", Committed{}, estimate).ok());
}

TEST(MonthTest, MonthsAreUtcCalendarMonths) {
  absl::Time t = absl::FromCivil(absl::CivilSecond(2027, 1, 31, 23, 59, 59), absl::UTCTimeZone());
  EXPECT_EQ(MonthOf(t), "2027-01");
  auto range = MonthRange("2027-01");
  ASSERT_TRUE(range.ok());
  EXPECT_LE(range->first, t);
  EXPECT_LT(t, range->second);
  EXPECT_EQ(MonthOf(range->second), "2027-02");
  for (const char* bad : {"2027-13", "2027-1", "27-01", "2027/01", ""}) {
    EXPECT_EQ(MonthRange(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

trenode::v1::Estimate EstimateOf(int64_t micros, int64_t cpu_micros) {
  trenode::v1::Estimate estimate;
  estimate.mutable_cost()->set_total_micros(micros);
  estimate.mutable_usage()->set_cpu_micros(cpu_micros);
  estimate.set_basis("declared limits");
  return estimate;
}

TEST(BudgetTest, RefusesTheAnalysisThatWouldPassItAndAllowsTheOneThatFits) {
  trenode::v1::Budget budget;
  budget.set_project_id("p1");
  budget.set_monthly_micros(10'000'000);
  Committed committed{.micros = 6'800'000, .cpu_micros = 0};
  EXPECT_TRUE(CheckBudget(budget, "GBP", "2027-01", committed, EstimateOf(3'200'000, 0)).ok());
  absl::Status refused = CheckBudget(budget, "GBP", "2027-01", committed, EstimateOf(5'000'000, 0));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "project p1's budget of 10.00 GBP for 2027-01 has 3.20 GBP left; this analysis is "
            "estimated at 5.00 GBP (declared limits); lower its limits, or ask a data steward to "
            "raise the budget (trectl project budget)");
  budget.set_monthly_micros(0);  // none
  EXPECT_TRUE(CheckBudget(budget, "GBP", "2027-01", committed, EstimateOf(5'000'000, 0)).ok());
}

TEST(BudgetTest, CpuQuotaIsCheckedToo) {
  trenode::v1::Budget budget;
  budget.set_project_id("p1");
  budget.set_cpu_seconds_quota(3600);
  Committed committed{.micros = 0, .cpu_micros = int64_t{3000} * 1'000'000};
  EXPECT_TRUE(
      CheckBudget(budget, "GBP", "2027-01", committed, EstimateOf(0, int64_t{600} * 1'000'000))
          .ok());
  absl::Status refused =
      CheckBudget(budget, "GBP", "2027-01", committed, EstimateOf(0, int64_t{601} * 1'000'000));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("CPU quota of 3600 CPU-seconds"), std::string::npos);
}

TEST(BudgetTest, AnAnalysisCommitsItsEstimateUntilItHasACost) {
  trenode::v1::Analysis analysis;
  *analysis.mutable_estimate() = EstimateOf(4'000'000, 10);
  analysis.set_state(trenode::v1::ANALYSIS_STATE_QUEUED);
  EXPECT_EQ(CommittedBy(analysis).micros, 4'000'000);
  analysis.set_state(trenode::v1::ANALYSIS_STATE_REJECTED);
  EXPECT_EQ(CommittedBy(analysis).micros, 0);
  analysis.set_state(trenode::v1::ANALYSIS_STATE_SUCCEEDED);
  analysis.mutable_cost()->set_total_micros(1'250'000);
  analysis.mutable_usage()->set_cpu_micros(7);
  EXPECT_EQ(CommittedBy(analysis).micros, 1'250'000);
  EXPECT_EQ(CommittedBy(analysis).cpu_micros, 7);
}

}  // namespace
}  // namespace trenode::charging
