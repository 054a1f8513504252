// The transition table in code is exactly the one in spec/analyses.md.
#include "node/analyses/analysis_state.h"

#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace trenode::analyses {
namespace {

// (from, action) -> to, from the "States" table of the spec.
std::map<std::pair<std::string, std::string>, std::string> SpecTable() {
  std::ifstream in(std::string(TRENODE_SOURCE_DIR) + "/spec/analyses.md");
  std::map<std::pair<std::string, std::string>, std::string> table;
  std::string line;
  bool in_states = false;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "## ")) in_states = line == "## States";
    if (!in_states || !absl::StartsWith(line, "| ") || absl::StartsWith(line, "| from")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    if (cells.size() < 5) continue;
    table[{std::string(absl::StripAsciiWhitespace(cells[1])),
           std::string(absl::StripAsciiWhitespace(cells[2]))}] =
        std::string(absl::StripAsciiWhitespace(cells[3]));
  }
  return table;
}

TEST(AnalysisStateTest, CodeAndSpecHaveTheSameTransitionTable) {
  auto spec = SpecTable();
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
