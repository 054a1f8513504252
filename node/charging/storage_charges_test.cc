// Storage and egress charges, pure (spec/charging.md, "Storage and
// egress"): byte-seconds integrated over a month from stored intervals, a
// GiB kept a whole month costing one GiB-month whatever the month's length,
// exact rounding, and no overflow however large the amounts.
#include <limits>

#include "gtest/gtest.h"
#include "node/charging/budget.h"
#include "node/charging/money.h"
#include "node/charging/prices.h"
#include "node/charging/storage_ledger.h"

namespace trenode::charging {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

PriceTable Storage(const std::string& gib_month, const std::string& egress_gib) {
  trenode::v1::ChargingConfig config;
  config.set_currency("GBP");
  auto* row = config.add_prices();
  row->set_backend("storage");
  row->set_storage_gib_month(gib_month);
  row->set_egress_gib(egress_gib);
  return *PriceTable::FromConfig(config);
}

absl::Time Day(int day) { return absl::FromCivil(absl::CivilDay(2027, 2, day), absl::UTCTimeZone()); }

TEST(StorageChargesTest, StoragePricesBelongToTheStorageRowAlone) {
  trenode::v1::ChargingConfig config;
  config.set_currency("GBP");
  auto* sandbox = config.add_prices();
  sandbox->set_backend("sandbox");
  sandbox->set_storage_gib_month("0.02");  // would charge nothing: refused
  absl::Status status = PriceTable::FromConfig(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("charging.prices[0].storage_gib_month"), std::string::npos)
      << status;
  sandbox->clear_storage_gib_month();
  sandbox->set_egress_gib("0.09");
  EXPECT_NE(PriceTable::FromConfig(config).status().message().find("prices[0].egress_gib"),
            std::string::npos);
  sandbox->set_backend("storage");
  sandbox->set_cpu_hour("1.00");
  EXPECT_NE(PriceTable::FromConfig(config).status().message().find("prices[0].cpu_hour"),
            std::string::npos);
  sandbox->clear_cpu_hour();
  EXPECT_TRUE(PriceTable::FromConfig(config).ok());
}

TEST(StorageChargesTest, AWholeMonthOfAGiBIsOneGiBMonthWhateverItsLength) {
  PriceTable prices = Storage("0.02", "");
  for (int days : {28, 31}) {
    const int64_t month = int64_t{days} * 86'400'000'000;
    trenode::v1::Cost cost = prices.StorageCostOf(static_cast<__int128>(kGiB) * month, month);
    EXPECT_EQ(cost.total_micros(), 20'000);
    ASSERT_EQ(cost.lines_size(), 1);
    EXPECT_EQ(cost.lines(0).item(), "storage");
    EXPECT_EQ(cost.lines(0).quantity(), "1.000000 GiB-month");
  }
  // A third of the month, rounded half up to a micro-unit: 6666.67 -> 6667.
  const int64_t month = int64_t{30} * 86'400'000'000;
  EXPECT_EQ(prices.StorageCostOf(static_cast<__int128>(kGiB) * (month / 3), month).total_micros(),
            6'667);
  // Unpriced: no line, nothing charged.
  EXPECT_EQ(Storage("", "").StorageCostOf(kGiB, month).lines_size(), 0);
}

TEST(StorageChargesTest, ByteSecondsCountOnlyTheMonthAndOnlyWhileStored) {
  const absl::Time from = Day(1), to = absl::FromCivil(absl::CivilDay(2027, 3, 1),
                                                       absl::UTCTimeZone());
  std::vector<StorageInterval> intervals = {
      // Stored since January, still stored: counts from the 1st.
      {"p", StoredKind::kOutput, "a", 1000, Day(1) - absl::Hours(24 * 20), std::nullopt},
      // Revoked mid-month: its ten days count, not zero.
      {"p", StoredKind::kReleasedCopy, "b", 500, Day(5), Day(15)},
      // Another kind is counted apart.
      {"p", StoredKind::kReviewCopy, "c", 7, Day(2), Day(3)},
      // Ended before the month: nothing.
      {"p", StoredKind::kOutput, "d", 1 << 20, Day(1) - absl::Hours(48), Day(1)},
  };
  const absl::Time now = Day(11);  // an open interval counts until now
  EXPECT_EQ(ByteMicrosIn(intervals, StoredKind::kOutput, from, to, now),
            static_cast<__int128>(1000) * 10 * 86'400'000'000);
  EXPECT_EQ(ByteMicrosIn(intervals, StoredKind::kReleasedCopy, from, to, now),
            static_cast<__int128>(500) * 6 * 86'400'000'000);  // the 5th to now
  EXPECT_EQ(ByteMicrosIn(intervals, StoredKind::kReleasedCopy, from, to, Day(20)),
            static_cast<__int128>(500) * 10 * 86'400'000'000);
  EXPECT_EQ(ByteMicrosIn(intervals, StoredKind::kReviewCopy, from, to, now),
            static_cast<__int128>(7) * 86'400'000'000);
}

TEST(StorageChargesTest, AbsurdAmountsSaturateAndNeverWrap) {
  PriceTable prices = Storage("1000000000", "1000000000");  // the largest prices
  const absl::Time from = Day(1);
  std::vector<StorageInterval> huge;
  for (int i = 0; i < 1000; ++i) {
    huge.push_back({"p", StoredKind::kOutput, "x", std::numeric_limits<int64_t>::max(),
                    from - absl::Hours(24 * 365 * 100), std::nullopt});
  }
  const __int128 byte_micros =
      ByteMicrosIn(huge, StoredKind::kOutput, from, Day(28), from + absl::Hours(24 * 365 * 100));
  EXPECT_EQ(byte_micros, static_cast<__int128>(1) << 86);
  trenode::v1::Cost storage = prices.StorageCostOf(byte_micros, int64_t{28} * 86'400'000'000);
  EXPECT_EQ(storage.total_micros(), kMaxLineMicros);
  trenode::v1::Cost egress = prices.EgressCostOf(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(egress.total_micros(), kMaxLineMicros);
  EXPECT_EQ(prices.EgressCostOf(-5).total_micros(), 0);
  EXPECT_EQ(prices.StorageCostOf(-5, 1000).total_micros(), 0);
}

TEST(StorageChargesTest, EgressIsChargedPerGiBSent) {
  PriceTable prices = Storage("", "0.09");
  trenode::v1::Cost cost = prices.EgressCostOf(3 * kGiB / 2);
  EXPECT_EQ(cost.total_micros(), 135'000);
  EXPECT_EQ(cost.lines(0).item(), "egress");
  EXPECT_EQ(cost.lines(0).quantity(), "1.500000 GiB");
}

TEST(StorageChargesTest, StorageQuotaRefusalNamesQuotaUsedAndNeeded) {
  trenode::v1::Budget budget;
  budget.set_project_id("hf");
  budget.set_storage_bytes_quota(100);
  budget.set_committed_storage_bytes(60);
  EXPECT_TRUE(CheckStorageQuota(budget, 40).ok());
  absl::Status refused = CheckStorageQuota(budget, 41);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  // Used and needed count unreleased outputs' sizes: whole MiB, rounded up.
  EXPECT_NE(refused.message().find("project hf's storage quota of 100 bytes has 1 MiB used"),
            std::string::npos)
      << refused;
  EXPECT_NE(refused.message().find("needs up to 1 MiB"), std::string::npos) << refused;
  EXPECT_EQ(refused.message().find("60"), std::string::npos) << refused;
  EXPECT_EQ(refused.message().find("41"), std::string::npos) << refused;
  // Saturating: an absurd need is refused, not wrapped to a pass.
  EXPECT_FALSE(CheckStorageQuota(budget, std::numeric_limits<int64_t>::max()).ok());
  budget.set_storage_bytes_quota(0);  // none
  EXPECT_TRUE(CheckStorageQuota(budget, std::numeric_limits<int64_t>::max()).ok());
}

TEST(StorageChargesTest, StoredBytesAreShownInWholeMiBToThoseWhoMayNotSeeOutputSizes) {
  constexpr int64_t kMiB = int64_t{1} << 20;
  EXPECT_EQ(MiBRoundedUp(0), 0);
  EXPECT_EQ(MiBRoundedUp(1), kMiB);
  EXPECT_EQ(MiBRoundedUp(kMiB), kMiB);
  EXPECT_EQ(MiBRoundedUp(kMiB + 1), 2 * kMiB);
  EXPECT_EQ(MiBRoundedUp(std::numeric_limits<int64_t>::max()),
            std::numeric_limits<int64_t>::max());
  trenode::v1::Budget budget;
  budget.set_storage_bytes_quota(12345);
  budget.set_committed_storage_bytes(3 * kMiB + 17);
  const trenode::v1::Budget shown = WithOutputSizesWithheld(budget);
  EXPECT_EQ(shown.committed_storage_bytes(), 4 * kMiB);
  EXPECT_EQ(shown.storage_bytes_quota(), 12345);  // the steward's own figure
}

}  // namespace
}  // namespace trenode::charging
