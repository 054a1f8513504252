// The transition table in code is exactly the one in spec/releases.md.
#include "node/releases/release_state.h"

#include "gtest/gtest.h"
#include "tests/testutil/spec_tables.h"

namespace trenode::releases {
namespace {

TEST(ReleaseStateTest, CodeAndSpecHaveTheSameTransitionTable) {
  auto spec = testing::SpecTransitionTable(std::string(TRENODE_SOURCE_DIR) + "/spec/releases.md");
  ASSERT_EQ(spec.size(), 14u) << "the spec's States table was not found whole";
  size_t arrows = 0;
  for (int s = trenode::v1::ReleaseState_MIN + 1; s <= trenode::v1::ReleaseState_MAX; ++s) {
    auto from = static_cast<trenode::v1::ReleaseState>(s);
    for (int a = 0; a <= static_cast<int>(ReleaseAction::kRevoke); ++a) {
      auto action = static_cast<ReleaseAction>(a);
      auto to = NextReleaseState(from, action);
      auto found = spec.find({StateName(from), ActionName(action)});
      if (found == spec.end()) {
        EXPECT_FALSE(to.has_value()) << StateName(from) << " " << ActionName(action);
        continue;
      }
      ++arrows;
      ASSERT_TRUE(to.has_value()) << StateName(from) << " " << ActionName(action);
      EXPECT_EQ(StateName(*to), found->second);
    }
  }
  EXPECT_EQ(arrows, spec.size());
}

}  // namespace
}  // namespace trenode::releases
