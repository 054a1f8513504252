#include "node/releases/release_files.h"

#include <cmath>
#include <map>
#include <optional>
#include <tuple>

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
#include "node/disclosure/suppression.h"
#include "node/log/merkle.h"
#include "node/releases/table_csv.h"

namespace trenode::releases {
namespace {
using disclosure::CellFacts;
using disclosure::Table;
using disclosure::TableVerdict;
using disclosure::Verdict;

constexpr double kScale = 1e6;  // magnitudes in millionths

std::string Field(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

std::string Line(const std::vector<std::string>& fields) {
  std::vector<std::string> quoted;
  for (const std::string& f : fields) quoted.push_back(Field(f));
  return absl::StrCat(absl::StrJoin(quoted, ","), "\n");
}

// What the requester is told of a file's checks: its verdict and the rules
// that did not pass, in words (spec/releases.md, "Who sees what").
std::string RequesterSummary(Verdict verdict, const std::set<std::string>& rules) {
  std::vector<std::string> words;
  for (const std::string& rule : rules) words.push_back(disclosure::RuleWords(rule));
  switch (verdict) {
    case Verdict::kPass:
      return "passes the disclosure rules";
    case Verdict::kReview:
      return words.empty() ? "not checked automatically: an output checker will judge it"
                           : absl::StrCat("needs an output checker: ", absl::StrJoin(words, "; "));
    case Verdict::kFail:
      break;
  }
  return words.empty() ? "fails the disclosure rules"
                       : absl::StrCat("fails the disclosure rules: ", absl::StrJoin(words, "; "));
}

std::set<std::string> RulesOf(const TableVerdict& verdict) {
  std::set<std::string> rules;
  for (const auto& [rule, cells] : verdict.by_rule) rules.insert(rule);
  return rules;
}

CandidateFile Finish(std::string name, std::string bytes, Verdict verdict, std::string summary,
                     const std::set<std::string>& rules) {
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

// Attaches what the rules found; a table with failing cells was protected.
CandidateFile WithChecks(CandidateFile file, Table table, TableVerdict checked) {
  file.suppressed = checked.verdict != Verdict::kPass;
  file.table = std::move(table);
  file.checked = std::move(checked);
  return file;
}

CellFacts Count(int64_t n) {
  CellFacts cell;
  cell.contributors = n;
  return cell;
}

// Suppresses and audits `table`; returns the verdict of what is published.
std::pair<Verdict, std::string> Protect(const Table& table, const disclosure::Policy& policy,
                                        disclosure::Margins margins, std::vector<bool>& suppressed,
                                        TableVerdict& verdict) {
  verdict = disclosure::CheckTable(table, policy);
  absl::StatusOr<disclosure::Suppression> protection =
      disclosure::Suppress(table, verdict, margins);
  if (!protection.ok()) {
    suppressed.assign(table.cells.size(), false);
    return {Verdict::kReview, absl::StrCat(disclosure::Summary(verdict),
                                           "suppression: ", protection.status().message())};
  }
  suppressed = protection->suppressed;
  // The published totals are cells too: each must pass the rules.
  const size_t width = table.column_labels.size();
  std::vector<std::pair<std::string, int64_t>> totals;
  int64_t grand = 0;
  for (size_t r = 0; r < table.row_labels.size(); ++r) {
    int64_t sum = 0;
    for (size_t c = 0; c < width; ++c) sum += table.at(r, c).contributors;
    grand += sum;
    if (margins.rows && margins.columns) totals.emplace_back("row " + table.row_labels[r], sum);
  }
  for (size_t c = 0; margins.rows && margins.columns && c < width; ++c) {
    int64_t sum = 0;
    for (size_t r = 0; r < table.row_labels.size(); ++r) sum += table.at(r, c).contributors;
    totals.emplace_back("column " + table.column_labels[c], sum);
  }
  totals.emplace_back("the grand total", grand);
  std::vector<std::string> failing_totals;
  for (const auto& [name, total] : totals) {
    disclosure::CellVerdict total_verdict = disclosure::CheckCell(Count(total), policy);
    if (total_verdict.verdict != Verdict::kPass) {
      failing_totals.push_back(
          absl::StrCat(name, " (", total, "): ", total_verdict.outcomes[0].reason));
    }
  }
  if (!failing_totals.empty()) {
    return {Verdict::kFail, absl::StrCat("fail; published totals fail the rules: ",
                                         absl::StrJoin(failing_totals, "; "))};
  }
  int primary = 0, secondary = 0;
  for (size_t i = 0; i < suppressed.size(); ++i) {
    primary += protection->primary[i];
    secondary += suppressed[i] && !protection->primary[i];
  }
  if (primary == 0) return {Verdict::kPass, "pass; every cell passes"};
  return {Verdict::kPass,
          absl::StrCat("pass after suppression: ", disclosure::Summary(verdict), primary,
                       " cells suppressed, ", secondary,
                       " complementary; the audit finds no suppressed cell recoverable")};
}

// Suppressed tables fail only when a published total does.
std::set<std::string> TotalsRule(Verdict verdict) {
  if (verdict == Verdict::kPass) return {};
  return {disclosure::kTotals};
}

// Rounding policies (opensafely): counts at or below the redaction limit are
// left out, the others rounded half up to a multiple of the base; totals are
// then sums of what is published.
bool Rounds(const disclosure::Policy& policy) { return policy.rounding_base > 0; }

std::optional<int64_t> Rounded(int64_t count, const disclosure::Policy& policy) {
  if (count <= policy.redact_at_or_below) return std::nullopt;
  int64_t base = policy.rounding_base;
  return (count + base / 2) / base * base;
}

std::string RoundingSummary(int64_t redacted, const disclosure::Policy& policy) {
  return absl::StrCat("pass after redaction and rounding: ", redacted, " cells at or below ",
                      policy.redact_at_or_below, " redacted, counts rounded to multiples of ",
                      policy.rounding_base, ", totals summed from what is published");
}

CandidateFile CountsFile(const trenode::v1::ResultTable& result, const disclosure::Policy& policy) {
  // One row of cells whose only published total is the grand total.
  Table table;
  table.row_labels = {"count"};
  for (const auto& cell : result.cells()) {
    table.column_labels.push_back(absl::StrJoin(cell.group(), " / "));
    table.cells.push_back(Count(cell.count()));
  }
  std::vector<bool> suppressed;
  Verdict verdict = Verdict::kPass;
  std::string summary;
  std::vector<std::optional<int64_t>> published;
  TableVerdict checked = disclosure::CheckTable(table, policy);
  if (Rounds(policy)) {
    int64_t redacted = 0;
    for (const auto& cell : result.cells()) {
      published.push_back(Rounded(cell.count(), policy));
      redacted += !published.back().has_value();
    }
    summary = RoundingSummary(redacted, policy);
  } else {
    std::tie(verdict, summary) =
        Protect(table, policy, {.rows = true, .columns = false}, suppressed, checked);
    for (int i = 0; i < result.cells_size(); ++i) {
      published.push_back(suppressed[i] ? std::nullopt
                                        : std::optional<int64_t>(result.cells(i).count()));
    }
  }
  std::vector<std::string> header(result.group_columns().begin(), result.group_columns().end());
  header.push_back("count");
  std::string csv = Line(header);
  int64_t total = 0;
  for (int i = 0; i < result.cells_size(); ++i) {
    std::vector<std::string> row(result.cells(i).group().begin(), result.cells(i).group().end());
    row.push_back(published[i] ? absl::StrCat(*published[i]) : "");
    total += Rounds(policy) ? published[i].value_or(0) : result.cells(i).count();
    absl::StrAppend(&csv, Line(row));
  }
  std::vector<std::string> last(result.group_columns_size(), "Total");
  last.push_back(absl::StrCat(total));
  absl::StrAppend(&csv, Line(last));
  return WithChecks(Finish(absl::StrCat(result.output(), ".csv"), std::move(csv), verdict, summary,
                           TotalsRule(verdict)),
                    std::move(table), std::move(checked));
}

CandidateFile CrosstabFile(const trenode::v1::ResultTable& result,
                           const disclosure::Policy& policy) {
  Table table;
  std::map<std::string, int> rows, columns;
  std::map<std::pair<int, int>, int64_t> counts;
  for (const auto& cell : result.cells()) {
    if (cell.margin()) continue;
    auto [row, r_new] = rows.emplace(cell.group(0), static_cast<int>(rows.size()));
    auto [column, c_new] = columns.emplace(cell.group(1), static_cast<int>(columns.size()));
    if (r_new) table.row_labels.push_back(cell.group(0));
    if (c_new) table.column_labels.push_back(cell.group(1));
    counts[{row->second, column->second}] = cell.count();
  }
  for (size_t r = 0; r < table.row_labels.size(); ++r) {
    for (size_t c = 0; c < table.column_labels.size(); ++c) {
      table.cells.push_back(Count(counts[{static_cast<int>(r), static_cast<int>(c)}]));
    }
  }
  std::vector<bool> suppressed;
  Verdict verdict = Verdict::kPass;
  std::string summary;
  std::vector<std::optional<int64_t>> published;
  TableVerdict checked = disclosure::CheckTable(table, policy);
  if (Rounds(policy)) {
    int64_t redacted = 0;
    for (const CellFacts& cell : table.cells) {
      published.push_back(Rounded(cell.contributors, policy));
      redacted += !published.back().has_value();
    }
    summary = RoundingSummary(redacted, policy);
  } else {
    std::tie(verdict, summary) = Protect(table, policy, {}, suppressed, checked);
    for (size_t i = 0; i < table.cells.size(); ++i) {
      published.push_back(suppressed[i] ? std::nullopt
                                        : std::optional<int64_t>(table.cells[i].contributors));
    }
  }
  std::vector<std::string> header = {
      absl::StrCat(result.group_columns(0), " \\ ", result.group_columns(1))};
  header.insert(header.end(), table.column_labels.begin(), table.column_labels.end());
  header.push_back("Total");
  std::string csv = Line(header);
  const size_t width = table.column_labels.size();
  std::vector<int64_t> column_totals(width, 0);
  for (size_t r = 0; r < table.row_labels.size(); ++r) {
    std::vector<std::string> line = {table.row_labels[r]};
    int64_t row_total = 0;
    for (size_t c = 0; c < width; ++c) {
      const std::optional<int64_t>& shown = published[r * width + c];
      int64_t n = Rounds(policy) ? shown.value_or(0) : table.at(r, c).contributors;
      row_total += n;
      column_totals[c] += n;
      line.push_back(shown ? absl::StrCat(*shown) : "");
    }
    line.push_back(absl::StrCat(row_total));
    absl::StrAppend(&csv, Line(line));
  }
  std::vector<std::string> totals = {"Total"};
  int64_t total = 0;
  for (int64_t n : column_totals) {
    totals.push_back(absl::StrCat(n));
    total += n;
  }
  totals.push_back(absl::StrCat(total));
  absl::StrAppend(&csv, Line(totals));
  return WithChecks(Finish(absl::StrCat(result.output(), ".csv"), std::move(csv), verdict, summary,
                           TotalsRule(verdict)),
                    std::move(table), std::move(checked));
}

CandidateFile SummaryFile(const trenode::v1::ResultTable& result,
                          const disclosure::Policy& policy) {
  Table table;
  table.column_labels = {"value"};
  for (const auto& cell : result.cells()) {
    table.row_labels.push_back(absl::StrJoin(cell.group(), " / "));
    CellFacts facts;
    facts.magnitude = true;
    facts.contributors = cell.evidence().contributors();
    facts.total = std::llround(cell.sum() * kScale);
    for (double value : cell.evidence().largest())
      facts.largest.push_back(std::llround(value * kScale));
    facts.negatives = cell.evidence().negative_contributions();
    facts.single_value = cell.evidence().single_value();
    table.cells.push_back(facts);
  }
  TableVerdict verdict = disclosure::CheckTable(table, policy);
  std::vector<std::string> header(result.group_columns().begin(), result.group_columns().end());
  header.insert(header.end(), {"count", "n", "mean", "sd", "sum"});
  std::string csv = Line(header);
  for (const auto& cell : result.cells()) {
    std::vector<std::string> row(cell.group().begin(), cell.group().end());
    row.insert(row.end(),
               {absl::StrCat(cell.count()), absl::StrCat(cell.n()), absl::StrCat(cell.mean()),
                absl::StrCat(cell.sd()), absl::StrCat(cell.sum())});
    absl::StrAppend(&csv, Line(row));
  }
  CandidateFile file = Finish(absl::StrCat(result.output(), ".csv"), std::move(csv),
                              verdict.verdict, disclosure::Summary(verdict), RulesOf(verdict));
  file.table = std::move(table);
  file.checked = std::move(verdict);
  return file;
}

CandidateFile RegressionFile(const trenode::v1::ResultTable& result,
                             const disclosure::Policy& policy) {
  const auto& r = result.regression();
  disclosure::CellVerdict verdict =
      disclosure::CheckRegression(r.residual_degrees_of_freedom(), policy);
  std::vector<std::string> header = {"term"};
  header.insert(header.end(), r.terms().begin(), r.terms().end());
  header.push_back("xty");
  std::string csv = Line(header);
  const int terms = r.terms_size();
  for (int i = 0; i < terms; ++i) {
    std::vector<std::string> row = {r.terms(i)};
    for (int j = 0; j < terms; ++j) row.push_back(absl::StrCat(r.xtx(i * terms + j)));
    row.push_back(absl::StrCat(r.xty(i)));
    absl::StrAppend(&csv, Line(row));
  }
  absl::StrAppend(&csv, Line({"yty", absl::StrCat(r.yty())}), Line({"n", absl::StrCat(r.n())}));
  std::string summary =
      verdict.outcomes.empty()
          ? absl::StrCat("pass; ", r.residual_degrees_of_freedom(), " residual degrees of freedom")
          : absl::StrCat("fail; ", verdict.outcomes[0].reason);
  std::set<std::string> rules;
  for (const auto& outcome : verdict.outcomes) rules.insert(outcome.rule);
  return Finish(absl::StrCat(result.output(), ".csv"), std::move(csv), verdict.verdict, summary,
                rules);
}

}  // namespace

std::vector<CandidateFile> AggregateFiles(const trenode::v1::AggregateResult& result,
                                          const disclosure::Policy& policy) {
  std::vector<CandidateFile> files;
  for (const auto& table : result.tables()) {
    switch (table.kind()) {
      case trenode::v1::OUTPUT_KIND_COUNTS:
        files.push_back(CountsFile(table, policy));
        break;
      case trenode::v1::OUTPUT_KIND_CROSSTAB:
        files.push_back(CrosstabFile(table, policy));
        break;
      case trenode::v1::OUTPUT_KIND_SUMMARY:
        files.push_back(SummaryFile(table, policy));
        break;
      default:
        files.push_back(RegressionFile(table, policy));
        break;
    }
  }
  return files;
}

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
  CandidateFile file = Finish(name, std::move(bytes), failures.empty() ? verdict : Verdict::kFail,
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
