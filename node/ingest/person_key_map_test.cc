#include "node/ingest/person_key_map.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trenode::ingest {
namespace {

TEST(PersonKeyMapTest, FindsEachKeysRowidAndNothingForOthers) {
  PersonKeyMap map;
  for (int i = 0; i < 10000; ++i) map.Add(absl::StrCat("P", i), i + 2);
  ASSERT_TRUE(map.usable());
  for (int i = 0; i < 10000; ++i) EXPECT_EQ(map.Find(absl::StrCat("P", i)), i + 2) << i;
  EXPECT_EQ(map.Find("P10000"), std::nullopt);
  EXPECT_EQ(map.Find("p1"), std::nullopt);
  EXPECT_EQ(map.Find(""), std::nullopt);
  EXPECT_EQ(map.Find(absl::string_view("P1\0", 3)), std::nullopt);
}

TEST(PersonKeyMapTest, GivenUpPastItsSizeOrOnARepeatedKey) {
  PersonKeyMap small(3);
  for (int i = 0; i < 3; ++i) small.Add(absl::StrCat("P", i), i);
  EXPECT_TRUE(small.usable());
  small.Add("P3", 3);
  EXPECT_FALSE(small.usable());
  small.Add("P4", 4);  // stays given up
  EXPECT_FALSE(small.usable());

  PersonKeyMap repeated;
  repeated.Add("P1", 2);
  repeated.Add("P1", 3);  // the unique index refuses it later; the map cannot tell which
  EXPECT_FALSE(repeated.usable());
}

}  // namespace
}  // namespace trenode::ingest
