#include "node/query/grid.h"

#include "gtest/gtest.h"

namespace trenode::query {
namespace {

TEST(GridTest, NumbersPrintAsTheShortestTextThatReadsBack) {
  EXPECT_EQ(FormatNumber(40), "40");
  EXPECT_EQ(FormatNumber(0.1), "0.1");
  EXPECT_EQ(FormatNumber(40.0000001), "40.0000001");
  EXPECT_EQ(FormatNumber(-2.5), "-2.5");
  EXPECT_NE(FormatNumber(0.30000000000000004), FormatNumber(0.3));
}

TEST(GridTest, BinsTakeValuesFromTheirLowerBoundary) {
  Categories bins = Categories::Binned({40, 50}, /*has_missing=*/true);
  EXPECT_EQ(bins.labels(), (std::vector<std::string>{"(missing)", "<40", "[40,50)", ">=50"}));
  EXPECT_EQ(*bins.OfMissing(), 0);
  EXPECT_EQ(*bins.OfNumber(39.999), 1);
  EXPECT_EQ(*bins.OfNumber(40), 2);
  EXPECT_EQ(*bins.OfNumber(49.9), 2);
  EXPECT_EQ(*bins.OfNumber(50), 3);
  Categories no_missing = Categories::Binned({40}, false);
  EXPECT_FALSE(no_missing.OfMissing().has_value());
}

TEST(GridTest, ListedValuesAndIndicators) {
  Categories sex = Categories::Listed({"F", "M"}, false);
  EXPECT_EQ(*sex.OfText("M"), 1);
  EXPECT_FALSE(sex.OfText("X").has_value());
  Categories indicator = Categories::Indicator();
  EXPECT_EQ(*indicator.OfNumber(1), 1);
  EXPECT_FALSE(indicator.OfNumber(2).has_value());
}

TEST(GridTest, RareValuesFallIntoOther) {
  Categories region = Categories::Listed({"North", "South"}, /*has_missing=*/true,
                                         /*has_other=*/true);
  EXPECT_EQ(region.labels(),
            (std::vector<std::string>{"(missing)", "North", "South", "(other)"}));
  EXPECT_EQ(*region.OfText("South"), 2);
  EXPECT_EQ(*region.OfText("Isles of Scilly"), 3);
}

TEST(GridTest, CellsAreRowMajor) {
  Categories a = Categories::Listed({"x", "y"}, false);
  Categories b = Categories::Binned({10, 20}, true);
  Grid grid({&a, &b});
  EXPECT_EQ(grid.size(), 8);
  EXPECT_EQ(grid.IndexOf({1, 2}), 6);
  EXPECT_EQ(grid.CategoriesOf(6), (std::vector<int>{1, 2}));
  EXPECT_EQ(grid.LabelsOf(5), (std::vector<std::string>{"y", "<10"}));
  EXPECT_EQ(Grid({}).size(), 1);
}

}  // namespace
}  // namespace trenode::query
