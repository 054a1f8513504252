#include "node/releases/release_files.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "node/disclosure/acro_results.h"
#include "node/releases/table_csv.h"

namespace trenode::releases {
using disclosure::Table;
using disclosure::TableVerdict;
using disclosure::Verdict;

CandidateFile ScriptFile(const std::string& name, std::string bytes, const HardGates& gates,
                         const disclosure::Policy& policy) {
  std::vector<std::string> failures;
  size_t dot = name.rfind('.');
  std::string extension =
      dot == std::string::npos ? "" : absl::AsciiStrToLower(name.substr(dot + 1));
  if (!gates.extensions.contains(extension)) {
    failures.push_back(absl::StrCat("files of type \"", extension, "\" may not leave (allowed: ",
                                    absl::StrJoin(gates.extensions, ", "), ")"));
  }
  if (static_cast<int64_t>(bytes.size()) > gates.max_file_bytes) {
    failures.push_back(absl::StrCat("larger than the limit of ", gates.max_file_bytes, " bytes"));
  }
  Verdict verdict = Verdict::kReview;
  std::string summary = "review; not checked automatically: an output checker must judge it";
  Table checked_table;
  TableVerdict checked_verdict;
  checked_verdict.verdict = Verdict::kReview;
  if (extension == "csv") {
    std::vector<absl::string_view> lines = absl::StrSplit(bytes, '\n', absl::SkipEmpty());
    if (static_cast<int64_t>(lines.size()) - 1 > gates.max_csv_rows) {
      // Not how many: a row count is the job's (and the data's) to choose.
      failures.push_back(absl::StrCat("more rows than the limit of ", gates.max_csv_rows));
    }
    std::vector<std::string> header =
        lines.empty() ? std::vector<std::string>{}
                      : absl::StrSplit(absl::StripTrailingAsciiWhitespace(lines[0]), ',');
    for (std::string column : header) {
      column = absl::AsciiStrToLower(absl::StripAsciiWhitespace(column));
      if (gates.identifier_columns.contains(column)) {
        failures.push_back(absl::StrCat("column \"", column, "\" looks like a person identifier"));
      }
    }
    bool counts = absl::EndsWith(name, ".counts.csv");
    if ((counts || absl::EndsWith(name, ".magnitude.csv")) && failures.empty()) {
      absl::StatusOr<Table> table = ParseTableCsv(bytes, !counts, name);
      if (!table.ok()) {
        failures.push_back(absl::StrCat("declared a ", counts ? "counts" : "magnitude",
                                        " table but is not one: ", table.status().message()));
      } else {
        checked_verdict = disclosure::CheckTable(*table, policy);
        verdict = checked_verdict.verdict;
        summary = disclosure::Summary(checked_verdict);
        checked_table = *std::move(table);
      }
    }
  }
  CandidateFile file = FinishFile(name, std::move(bytes), failures.empty() ? verdict : Verdict::kFail,
                              failures.empty() ? summary : "fail; a hard gate failed",
                              RulesOf(checked_verdict));
  if (!failures.empty()) {
    file.meta.set_requester_summary(
        absl::StrCat("failed a hard gate: ", absl::StrJoin(failures, "; ")));
  }
  for (std::string& failure : failures) file.meta.add_gate_failures(std::move(failure));
  if (!failures.empty()) checked_verdict.verdict = Verdict::kFail;
  file.table = std::move(checked_table);
  file.checked = std::move(checked_verdict);
  return file;
}

}  // namespace trenode::releases
