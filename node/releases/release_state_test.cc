// The transition table in code is exactly the one in spec/releases.md.
#include "node/releases/release_state.h"

#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace trenode::releases {
namespace {

TEST(ReleaseStateTest, CodeAndSpecHaveTheSameTransitionTable) {
  std::ifstream in(std::string(TRENODE_SOURCE_DIR) + "/spec/releases.md");
  std::map<std::pair<std::string, std::string>, std::string> spec;
  std::string line;
  bool in_states = false;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "## ")) in_states = line == "## States";
    if (!in_states || !absl::StartsWith(line, "| ") || absl::StartsWith(line, "| from")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    if (cells.size() < 5) continue;
    spec[{std::string(absl::StripAsciiWhitespace(cells[1])),
          std::string(absl::StripAsciiWhitespace(cells[2]))}] =
        std::string(absl::StripAsciiWhitespace(cells[3]));
  }
  ASSERT_EQ(spec.size(), 12u) << "the spec's States table was not found whole";
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
