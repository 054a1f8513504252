#include "node/disclosure/acro_results.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace trenode::disclosure {
namespace {

// The rules ACRO's summary always lists, then ours.
const char* const kRules[] = {kNegative, kThreshold,  kPRatio, kNkRule, kSameValue,
                              kZeros,    kMinNonzero, kRedact, kDof};

std::string Quote(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string Summary(const TableVerdict& verdict) {
  std::string summary = absl::StrCat(VerdictName(verdict.verdict), "; ");
  for (const char* rule : kRules) {
    auto found = verdict.by_rule.find(rule);
    if (found == verdict.by_rule.end()) continue;
    absl::StrAppend(&summary, rule, ": ", found->second.size(),
                    found->second.size() == 1 ? " cell" : " cells", " may need suppressing; ");
  }
  return summary;
}

std::string AcroResultsJson(const std::vector<CheckedOutput>& outputs, absl::Time now) {
  std::vector<std::string> results;
  for (const CheckedOutput& output : outputs) {
    const Table& table = *output.table;
    const TableVerdict& verdict = *output.verdict;
    std::vector<std::string> summary = {
        absl::StrCat("\"suppressed\": ", output.suppressed ? "true" : "false"), "\"missing\": 0"};
    std::vector<std::string> cells = {"\"missing\": []"};
    for (const char* rule : kRules) {
      auto found = verdict.by_rule.find(rule);
      std::vector<std::string> where;
      if (found != verdict.by_rule.end()) {
        for (const auto& [row, column] : found->second) {
          where.push_back(absl::StrCat("[", row, ", ", column, "]"));
        }
      }
      summary.push_back(absl::StrCat(Quote(rule), ": ", where.size()));
      cells.push_back(absl::StrCat(Quote(rule), ": [", absl::StrJoin(where, ", "), "]"));
    }
    std::vector<std::string> rows;
    for (size_t r = 0; r < table.row_labels.size(); ++r) {
      std::vector<std::string> columns;
      for (size_t c = 0; c < table.column_labels.size(); ++c) {
        const CellVerdict& cell = verdict.cells[r * table.column_labels.size() + c];
        std::vector<std::string> reasons;
        for (const RuleOutcome& outcome : cell.outcomes) reasons.push_back(outcome.rule);
        columns.push_back(absl::StrCat(
            Quote(table.column_labels[c]), ": ",
            Quote(reasons.empty() ? "ok" : absl::StrCat(absl::StrJoin(reasons, "; "), ";"))));
      }
      rows.push_back(
          absl::StrCat(Quote(table.row_labels[r]), ": {", absl::StrJoin(columns, ", "), "}"));
    }
    results.push_back(absl::StrCat(
        Quote(output.uid), ": {\n      \"uid\": ", Quote(output.uid),
        ",\n      \"status\": ", Quote(VerdictName(verdict.verdict)),
        ",\n      \"type\": \"table\",\n      \"properties\": {\"method\": ", Quote(output.method),
        "},\n      \"files\": [{\"name\": ", Quote(output.file_name), ", \"sdc\": {\"summary\": {",
        absl::StrJoin(summary, ", "), "}, \"cells\": {", absl::StrJoin(cells, ", "),
        "}}}],\n      \"outcome\": {", absl::StrJoin(rows, ", "),
        "},\n      \"summary\": ", Quote(Summary(verdict)),
        ",\n      \"comments\": [],\n      \"exception\": \"\",\n      \"timestamp\": ",
        Quote(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", now, absl::UTCTimeZone())), "\n    }"));
  }
  return absl::StrCat("{\n  \"version\": \"trenode-disclosure/1\",\n  \"results\": {\n    ",
                      absl::StrJoin(results, ",\n    "), "\n  }\n}\n");
}

std::string FileLevelResultsJson(const std::vector<FileStatus>& files, absl::Time now) {
  std::vector<std::string> results;
  for (const FileStatus& file : files) {
    results.push_back(absl::StrCat(
        Quote(file.uid), ": {\n      \"uid\": ", Quote(file.uid),
        ",\n      \"status\": ", Quote(file.status),
        ",\n      \"type\": \"table\",\n      \"properties\": {\"method\": ", Quote(file.method),
        "},\n      \"files\": [{\"name\": ", Quote(file.file_name),
        "}],\n      \"outcome\": {},\n      \"summary\": ", Quote(file.summary),
        ",\n      \"comments\": [],\n      \"exception\": \"\",\n      \"timestamp\": ",
        Quote(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", now, absl::UTCTimeZone())), "\n    }"));
  }
  return absl::StrCat("{\n  \"version\": \"trenode-disclosure/1\",\n  \"results\": {\n    ",
                      absl::StrJoin(results, ",\n    "), "\n  }\n}\n");
}

}  // namespace trenode::disclosure
