#include "node/ingest/person_key_map.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trenode::ingest {
namespace {

TEST(PersonKeyMapTest, FindsEachKeysRowidAndNothingForOthers) {
  PersonKeyMap map;
  // Past the first table's 57,344 persons: found again after growing.
  for (int i = 0; i < 200000; ++i) map.Add(absl::StrCat("P", i), i + 2);
  ASSERT_TRUE(map.usable());
  for (int i = 0; i < 200000; ++i) ASSERT_EQ(map.Find(absl::StrCat("P", i)), i + 2) << i;
  EXPECT_EQ(map.Find("P200000"), std::nullopt);
  EXPECT_EQ(map.Find("p1"), std::nullopt);
  EXPECT_EQ(map.Find(""), std::nullopt);
  EXPECT_EQ(map.Find(absl::string_view("P1\0", 3)), std::nullopt);
}

TEST(PersonKeyMapTest, GivenUpPastItsSlotsOnARepeatedKeyOrARowidOutOfRange) {
  PersonKeyMap small(int64_t{1} << 16);  // 57,344 persons at 7/8
  for (int i = 0; i < 57344; ++i) small.Add(absl::StrCat("P", i), i + 1);
  EXPECT_TRUE(small.usable());
  EXPECT_EQ(small.Find("P57343"), 57344);
  small.Add("P57344", 57345);
  EXPECT_FALSE(small.usable());
  small.Add("P57345", 57346);  // stays given up
  EXPECT_FALSE(small.usable());

  PersonKeyMap far;
  far.Add("P1", int64_t{1} << 32);
  EXPECT_FALSE(far.usable());

  PersonKeyMap repeated;
  repeated.Add("P1", 2);
  repeated.Add("P1", 3);  // the unique index refuses it later; the map cannot tell which
  EXPECT_FALSE(repeated.usable());
}

}  // namespace
}  // namespace trenode::ingest
