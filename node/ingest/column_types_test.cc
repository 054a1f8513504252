#include "node/ingest/column_types.h"

#include "gtest/gtest.h"

namespace trenode::ingest {
namespace {
using trenode::v1::ColumnType;

ColumnType Infer(std::initializer_list<const char*> cells) {
  TypeInference inference;
  for (const char* cell : cells) inference.Observe(cell);
  return inference.Result();
}

TEST(ColumnTypesTest, InfersTheNarrowestType) {
  EXPECT_EQ(Infer({"1", "-2", "", "+30"}), trenode::v1::COLUMN_TYPE_INTEGER);
  EXPECT_EQ(Infer({"1", "2.5", "1e3"}), trenode::v1::COLUMN_TYPE_REAL);
  EXPECT_EQ(Infer({"2020-02-29", ""}), trenode::v1::COLUMN_TYPE_DATE);
  EXPECT_EQ(Infer({"2021-02-29"}), trenode::v1::COLUMN_TYPE_TEXT);  // not a leap year
  EXPECT_EQ(Infer({"I50.9", "I11"}), trenode::v1::COLUMN_TYPE_TEXT);
  EXPECT_EQ(Infer({"", ""}), trenode::v1::COLUMN_TYPE_TEXT);
  EXPECT_EQ(Infer({"0x10"}), trenode::v1::COLUMN_TYPE_TEXT);
  EXPECT_EQ(Infer({"nan"}), trenode::v1::COLUMN_TYPE_TEXT);
  EXPECT_EQ(Infer({"99999999999999999999"}), trenode::v1::COLUMN_TYPE_REAL);  // beyond int64
}

TEST(ColumnTypesTest, FitsChecksDeclaredTypes) {
  EXPECT_TRUE(Fits("", trenode::v1::COLUMN_TYPE_INTEGER));
  EXPECT_FALSE(Fits("1.5", trenode::v1::COLUMN_TYPE_INTEGER));
  EXPECT_FALSE(Fits("1 ", trenode::v1::COLUMN_TYPE_INTEGER));
  EXPECT_TRUE(Fits("-0.25", trenode::v1::COLUMN_TYPE_REAL));
  EXPECT_FALSE(Fits("1e", trenode::v1::COLUMN_TYPE_REAL));
  EXPECT_FALSE(Fits("inf", trenode::v1::COLUMN_TYPE_REAL));
  EXPECT_FALSE(Fits("2020-13-01", trenode::v1::COLUMN_TYPE_DATE));
  EXPECT_FALSE(Fits("2020-1-01", trenode::v1::COLUMN_TYPE_DATE));
  EXPECT_TRUE(Fits("anything", trenode::v1::COLUMN_TYPE_TEXT));
}

}  // namespace
}  // namespace trenode::ingest
