#include "node/rpc/partner_rate.h"

#include "gtest/gtest.h"

namespace trenode::rpc {
namespace {

TEST(PartnerRateTest, ABurstThenTheRateAndEachPartnerOnItsOwn) {
  absl::Time now = absl::FromUnixSeconds(1000);
  PartnerRate rate(2, 5, [&] { return now; });
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rate.Take("site-a").ok()) << i;
  absl::Status over = rate.Take("site-a");
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(over.message(),
            "node site-a has made more than its 2 calls a second (burst 5) here; retry in 500 ms");
  // Another partner has its own bucket.
  EXPECT_TRUE(rate.Take("site-b").ok());
  // Half a second later one call more, not two.
  now += absl::Milliseconds(500);
  EXPECT_TRUE(rate.Take("site-a").ok());
  EXPECT_FALSE(rate.Take("site-a").ok());
  // A long pause refills no more than the burst.
  now += absl::Hours(1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rate.Take("site-a").ok()) << i;
  EXPECT_FALSE(rate.Take("site-a").ok());
}

TEST(PartnerRateTest, UnsetLimitsTakeTheDefaultsAndLoweringTheBurstEmptiesBuckets) {
  absl::Time now = absl::FromUnixSeconds(1000);
  PartnerRate rate(0, 0, [&] { return now; });
  for (int i = 0; i < PartnerRate::kDefaultBurst; ++i) ASSERT_TRUE(rate.Take("site-a").ok()) << i;
  EXPECT_FALSE(rate.Take("site-a").ok());
  PartnerRate lowered(0, 0, [&] { return now; });
  ASSERT_TRUE(lowered.Take("site-a").ok());
  lowered.Set(1, 1);
  EXPECT_TRUE(lowered.Take("site-a").ok());
  EXPECT_FALSE(lowered.Take("site-a").ok());
}

}  // namespace
}  // namespace trenode::rpc
