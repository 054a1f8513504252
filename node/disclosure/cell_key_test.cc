#include "node/disclosure/cell_key.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace trenode::disclosure {
namespace {

// Over many uniformly random cell keys the perturbation is unbiased with the
// variance the spec publishes, for every count the p-table covers.
TEST(CellKeyTest, PerturbationIsUnbiasedWithThePublishedVariance) {
  std::mt19937 random(20261201);
  for (auto [count, variance] : {std::pair{1, 0.6}, {2, 0.9}, {17, 0.9}, {1000, 0.9}}) {
    const int draws = 400000;
    double sum = 0, sum_of_squares = 0;
    for (int i = 0; i < draws; ++i) {
      double change = static_cast<double>(PerturbedCount(count, random()) - count);
      sum += change;
      sum_of_squares += change * change;
    }
    double mean = sum / draws;
    EXPECT_NEAR(mean, 0, 0.01) << count;
    EXPECT_NEAR(sum_of_squares / draws - mean * mean, variance, 0.01) << count;
  }
}

TEST(CellKeyTest, SameCellSameNoiseZerosStayZeroNeverNegative) {
  EXPECT_EQ(PerturbedCount(0, 123456789), 0);
  for (uint32_t key : {0u, 1u << 31, 4294967295u}) {
    EXPECT_EQ(PerturbedCount(17, key), PerturbedCount(17, key));
    EXPECT_GE(PerturbedCount(1, key), 0);
    EXPECT_GE(PerturbedCount(2, key), 0);
  }
  // The lowest keys take the first change, the highest the last.
  EXPECT_EQ(PerturbedCount(17, 0), 15);
  EXPECT_EQ(PerturbedCount(17, 4294967295u), 19);
  EXPECT_EQ(PerturbedCount(1, 0), 0);
}

// The differencing attack of issue 11 under cell_key: 17 persons, then the
// same less 2. Over many draws of the secret record keys (a node draws them
// once per person), the published difference is not 2 in most of them.
TEST(CellKeyTest, DifferencingTwoCellsGivesNoiseNotTheTrueDifference) {
  std::mt19937 random(42);
  int exact = 0;
  const int seeds = 2000;
  for (int seed = 0; seed < seeds; ++seed) {
    uint64_t all = 0, rest = 0;
    for (int person = 0; person < 17; ++person) {
      uint32_t key = random();
      all += key;
      if (person >= 2) rest += key;
    }
    int64_t difference = PerturbedCount(17, CellKeyOf(all)) - PerturbedCount(15, CellKeyOf(rest));
    exact += difference == 2;
  }
  EXPECT_LT(exact, seeds / 2);
  EXPECT_NEAR(static_cast<double>(exact) / seeds, 0.29, 0.03);  // P(two draws agree)
}

TEST(CellKeyTest, DisjointCellsKeysAdd) {
  EXPECT_EQ(CellKeyOf(uint64_t{4294967295u} + 2), 1u);
}

}  // namespace
}  // namespace trenode::disclosure
