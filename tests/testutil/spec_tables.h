// Reads a state machine's transition table from a spec page, so that tests
// can hold the code to exactly what the spec says.
#ifndef TRENODE_TESTS_TESTUTIL_SPEC_TABLES_H_
#define TRENODE_TESTS_TESTUTIL_SPEC_TABLES_H_

#include <fstream>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace trenode::testing {

// (from, action) -> to, from the rows "| from | action | to | ... |" of the
// section headed `section` ("## States") of the spec page at `path`.
inline std::map<std::pair<std::string, std::string>, std::string> SpecTransitionTable(
    const std::string& path, const std::string& section = "## States") {
  std::ifstream in(path);
  std::map<std::pair<std::string, std::string>, std::string> table;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "## ")) inside = line == section;
    if (!inside || !absl::StartsWith(line, "| ") || absl::StartsWith(line, "| from")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    if (cells.size() < 5) continue;
    table[{std::string(absl::StripAsciiWhitespace(cells[1])),
           std::string(absl::StripAsciiWhitespace(cells[2]))}] =
        std::string(absl::StripAsciiWhitespace(cells[3]));
  }
  return table;
}

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_SPEC_TABLES_H_
