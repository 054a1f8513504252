#include "node/catalogue/population_band.h"

#include "gtest/gtest.h"

namespace trenode::catalogue {
namespace {

void ExpectBand(int64_t count, int64_t lower, int64_t upper, const std::string& label) {
  auto band = PopulationBandFor(count);
  EXPECT_EQ(band.lower(), lower) << count;
  EXPECT_EQ(band.upper(), upper) << count;
  EXPECT_EQ(band.label(), label) << count;
}

TEST(PopulationBandTest, SmallCountsAreNeverExact) {
  ExpectBand(0, 0, 100, "fewer than 100");
  ExpectBand(1, 0, 100, "fewer than 100");
  ExpectBand(99, 0, 100, "fewer than 100");
  ExpectBand(-5, 0, 100, "fewer than 100");
}

TEST(PopulationBandTest, DecadeBoundaries) {
  ExpectBand(100, 100, 1000, "100 to 999");
  ExpectBand(999, 100, 1000, "100 to 999");
  ExpectBand(1000, 1000, 10000, "1,000 to 9,999");
  ExpectBand(123456, 100000, 1000000, "100,000 to 999,999");
  ExpectBand(9999999, 1000000, 10000000, "1,000,000 to 9,999,999");
  ExpectBand(10000000, 10000000, 0, "10,000,000 or more");
  ExpectBand(int64_t{1} << 40, 10000000, 0, "10,000,000 or more");
}

}  // namespace
}  // namespace trenode::catalogue
