#include "node/releases/pooled_differencing.h"

#include "gtest/gtest.h"

namespace trenode::releases {
namespace {
using Names = std::vector<std::string>;

TEST(PooledDifferencingTest, ASubsetReleasedBeforeOrAfterRevealsTheNodeBetweenThem) {
  EXPECT_EQ(NewlyRevealed({{"a", "b", "c"}}, {"a", "b"}, {"a", "b", "c"}), Names{"c"});
  EXPECT_EQ(NewlyRevealed({{"a", "b"}}, {"a", "b", "c"}, {"a", "b", "c"}), Names{"c"});
  // A node that may be shown alone is not protected.
  EXPECT_EQ(NewlyRevealed({{"a", "b", "c"}}, {"a", "b"}, {"a", "b"}), Names{});
}

TEST(PooledDifferencingTest, PairsSolvedTogetherRevealEveryNode) {
  EXPECT_EQ(NewlyRevealed({{"a", "b"}, {"a", "c"}}, {"b", "c"}, {"a", "b", "c"}),
            (Names{"a", "b", "c"}));
  // Each pair alone reveals nothing.
  EXPECT_EQ(NewlyRevealed({{"a", "b"}}, {"a", "c"}, {"a", "b", "c"}), Names{});
}

TEST(PooledDifferencingTest, WhatRevealsOnlyASumOfNodesOrNothingNewPasses) {
  EXPECT_EQ(NewlyRevealed({{"a", "b", "c", "d"}}, {"a", "b"}, {"a", "b", "c", "d"}), Names{});
  EXPECT_EQ(NewlyRevealed({{"a", "b", "c"}}, {"a", "b", "c"}, {"a", "b", "c"}), Names{});
  EXPECT_EQ(NewlyRevealed({}, {"a", "b"}, {"a", "b"}), Names{});
  // Already derivable before the candidate: not newly revealed by it.
  EXPECT_EQ(NewlyRevealed({{"a", "b", "c"}, {"a", "b"}}, {"a", "b", "c"}, {"c"}), Names{});
}

TEST(PooledDifferencingTest, LongerChainsAreSolvedToo) {
  // (a+b+c) - (b+c+d) + (d+e) - (e) = a.
  EXPECT_EQ(NewlyRevealed({{"a", "b", "c"}, {"b", "c", "d"}, {"d", "e"}}, {"e"}, {"a"}),
            Names{"a"});
}

}  // namespace
}  // namespace trenode::releases
