// The transition table in code is exactly the one in spec/analyses.md.
#include "node/analyses/analysis_state.h"

#include "gtest/gtest.h"
#include "tests/testutil/spec_tables.h"

namespace trenode::analyses {
namespace {

TEST(AnalysisStateTest, CodeAndSpecHaveTheSameTransitionTable) {
  auto spec = testing::SpecTransitionTable(std::string(TRENODE_SOURCE_DIR) + "/spec/analyses.md");
  ASSERT_EQ(spec.size(), 16u) << "the spec's States table was not found whole";
  size_t arrows = 0;
  for (int s = trenode::v1::AnalysisState_MIN + 1; s <= trenode::v1::AnalysisState_MAX; ++s) {
    auto from = static_cast<trenode::v1::AnalysisState>(s);
    for (int a = 0; a <= static_cast<int>(AnalysisAction::kCancel); ++a) {
      auto action = static_cast<AnalysisAction>(a);
      std::optional<trenode::v1::AnalysisState> to = NextAnalysisState(from, action);
      auto found = spec.find({StateName(from), ActionName(action)});
      if (found == spec.end()) {
        EXPECT_FALSE(to.has_value()) << StateName(from) << " " << ActionName(action);
        continue;
      }
      ++arrows;
      ASSERT_TRUE(to.has_value()) << StateName(from) << " " << ActionName(action);
      EXPECT_EQ(StateName(*to), found->second) << StateName(from) << " " << ActionName(action);
      EXPECT_FALSE(IsFinal(from));
    }
  }
  EXPECT_EQ(arrows, spec.size());
}

}  // namespace
}  // namespace trenode::analyses
