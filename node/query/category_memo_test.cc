#include "node/query/category_memo.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trenode::query {
namespace {

// Every answer of the memo is Categories' own, however values collide in
// its slots or come back after being pushed out.
TEST(CategoryMemoTest, IntegersAnswerAsTheBinsDoThroughCollisionsAndRepeats) {
  Categories bins = Categories::Binned({-5, 0, 40, 50, 1e12}, /*has_missing=*/true);
  CategoryMemo memo(bins);
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int64_t> small(-20, 120);
  std::uniform_int_distribution<int64_t> wide(INT64_MIN, INT64_MAX);
  for (int i = 0; i < 200000; ++i) {
    // Mostly few values (as birth years are), some anywhere, and values
    // 256 apart, which fall on each other's slot far more often.
    int64_t value = i % 5 == 0 ? wide(random) : i % 5 == 1 ? small(random) * 256 : small(random);
    ASSERT_EQ(memo.OfInteger(value), bins.OfNumber(static_cast<double>(value))) << value;
  }
  EXPECT_EQ(memo.OfMissing(), bins.OfMissing());
  EXPECT_EQ(memo.OfReal(39.5), bins.OfNumber(39.5));
}

TEST(CategoryMemoTest, IntegersOutsideAnIndicatorStayOutside) {
  Categories indicator = Categories::Indicator();
  CategoryMemo memo(indicator);
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(memo.OfInteger(0), 0);
    EXPECT_EQ(memo.OfInteger(1), 1);
    EXPECT_EQ(memo.OfInteger(2), std::nullopt);
    EXPECT_EQ(memo.OfInteger(-1), std::nullopt);
  }
  EXPECT_EQ(memo.OfMissing(), std::nullopt);
}

TEST(CategoryMemoTest, TextsAnswerAsTheListDoesBeyondWhatItRemembers) {
  Categories listed = Categories::Listed({"F", "M", "U"}, /*has_missing=*/false);
  Categories with_other = Categories::Listed({"north", "south"}, true, /*has_other=*/true);
  CategoryMemo memo(listed), other_memo(with_other);
  // More distinct texts than the memo keeps, each asked twice.
  for (size_t i = 0; i < CategoryMemo::kMaxTexts + 500; ++i) {
    std::string text = i % 3 == 0 ? std::string(i % 2 ? "F" : "M") : absl::StrCat("x", i);
    for (int twice = 0; twice < 2; ++twice) {
      ASSERT_EQ(memo.OfText(text), listed.OfText(text)) << text;
      ASSERT_EQ(other_memo.OfText(text), with_other.OfText(text)) << text;
    }
  }
  EXPECT_EQ(memo.OfText("U"), 2);
  EXPECT_EQ(memo.OfText("u"), std::nullopt);  // case matters, as in the list
  EXPECT_EQ(other_memo.OfText("south"), with_other.OfText("south"));
  EXPECT_EQ(other_memo.OfText("east"), with_other.OfText("east"));
  EXPECT_EQ(other_memo.OfMissing(), 0);
}

}  // namespace
}  // namespace trenode::query
