#include "node/releases/candidate_file.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "node/log/merkle.h"

namespace trenode::releases {
namespace {

std::string Field(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

}  // namespace

std::string CsvLine(const std::vector<std::string>& fields) {
  std::vector<std::string> quoted;
  for (const std::string& f : fields) quoted.push_back(Field(f));
  return absl::StrCat(absl::StrJoin(quoted, ","), "\n");
}

std::string RequesterSummary(disclosure::Verdict verdict, const std::set<std::string>& rules) {
  std::vector<std::string> words;
  for (const std::string& rule : rules) words.push_back(disclosure::RuleWords(rule));
  switch (verdict) {
    case disclosure::Verdict::kPass:
      return "passes the disclosure rules";
    case disclosure::Verdict::kReview:
      return words.empty() ? "not checked automatically: an output checker will judge it"
                           : absl::StrCat("needs an output checker: ", absl::StrJoin(words, "; "));
    case disclosure::Verdict::kFail:
      break;
  }
  return words.empty() ? "fails the disclosure rules"
                       : absl::StrCat("fails the disclosure rules: ", absl::StrJoin(words, "; "));
}

std::set<std::string> RulesOf(const disclosure::TableVerdict& verdict) {
  std::set<std::string> rules;
  for (const auto& [rule, cells] : verdict.by_rule) rules.insert(rule);
  return rules;
}

CandidateFile FinishFile(std::string name, std::string bytes, disclosure::Verdict verdict,
                         std::string summary, const std::set<std::string>& rules) {
  CandidateFile file;
  file.meta.set_requester_summary(RequesterSummary(verdict, rules));
  file.meta.set_name(std::move(name));
  file.meta.set_size(static_cast<int64_t>(bytes.size()));
  file.meta.set_sha256(absl::BytesToHexString(log::HashBytes(log::Sha256(bytes))));
  file.meta.set_verdict(disclosure::VerdictName(verdict));
  file.meta.set_verdict_summary(std::move(summary));
  file.bytes = std::move(bytes);
  return file;
}

}  // namespace trenode::releases
