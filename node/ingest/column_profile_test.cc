#include "node/ingest/column_profile.h"

#include "gtest/gtest.h"

namespace trenode::ingest {
namespace {

TEST(ColumnProfileTest, CountsValuesInByteOrderAndNotesMissingCells) {
  ColumnProfile profile(true, 10, 100);
  for (absl::string_view cell : {"b", "a", "", "b", "\xC3\xA9", "B"}) profile.Observe(cell);
  EXPECT_TRUE(profile.has_missing());
  EXPECT_EQ(profile.state(), ColumnProfile::Values::kCounted);
  EXPECT_EQ(profile.values(), (std::map<std::string, int64_t>{
                                  {"B", 1}, {"a", 1}, {"b", 2}, {"\xC3\xA9", 1}}));
}

TEST(ColumnProfileTest, MoreDistinctValuesThanTheLimitAreTooMany) {
  ColumnProfile profile(true, 3, 1000);
  for (absl::string_view cell : {"a", "b", "c", "a"}) profile.Observe(cell);
  EXPECT_EQ(profile.state(), ColumnProfile::Values::kCounted);
  profile.Observe("d");
  EXPECT_EQ(profile.state(), ColumnProfile::Values::kTooMany);
  profile.Observe("a");
  EXPECT_EQ(profile.state(), ColumnProfile::Values::kTooMany);
  EXPECT_TRUE(profile.values().empty());
  EXPECT_FALSE(profile.has_missing());
}

// Long values (hostile or not) stop the counting rather than the memory
// growing: the caller counts such a column another way.
TEST(ColumnProfileTest, ValuesPastTheByteLimitAreNotCounted) {
  ColumnProfile profile(true, 1000, 10);
  profile.Observe("12345");
  profile.Observe("12345");
  EXPECT_EQ(profile.state(), ColumnProfile::Values::kCounted);
  profile.Observe("123456");
  EXPECT_EQ(profile.state(), ColumnProfile::Values::kNotCounted);
  profile.Observe("");
  EXPECT_TRUE(profile.has_missing()) << "missing cells are still noted";
  EXPECT_TRUE(profile.values().empty());
}

TEST(ColumnProfileTest, NotAskedToCountOnlyNotesMissingCells) {
  ColumnProfile profile(false, 10, 100);
  profile.Observe("a");
  EXPECT_FALSE(profile.has_missing());
  EXPECT_EQ(profile.state(), ColumnProfile::Values::kNotCounted);
}

}  // namespace
}  // namespace trenode::ingest
