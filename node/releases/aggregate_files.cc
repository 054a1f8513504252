#include "node/releases/aggregate_files.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "node/disclosure/acro_results.h"
#include "node/disclosure/cell_key.h"
#include "node/disclosure/linked_suppression.h"
#include "node/disclosure/regression.h"
#include "node/disclosure/suppression.h"
#include "node/query/grid.h"
#include "node/releases/regression_statistics.h"

namespace trenode::releases {
namespace {
using disclosure::CellFacts;
using disclosure::Policy;
using disclosure::Table;
using disclosure::TableVerdict;
using disclosure::Verdict;
using disclosure::Worse;
using trenode::internal::OutputInternals;
using trenode::internal::QueryInternals;
using trenode::v1::ResultTable;

constexpr double kScale = 1e6;  // magnitudes in millionths

CellFacts Count(int64_t n) {
  CellFacts cell;
  cell.contributors = n;
  return cell;
}

// A counts or crosstab output on its way to a file.
struct CountOutput {
  const ResultTable* result = nullptr;
  bool crosstab = false;
  Table table;  // rows x columns of counts, without totals
  disclosure::Margins margins;
  // Per cell, from the internals (empty without them).
  std::vector<query::PersonSet> persons;
  std::vector<uint32_t> keys;
  const OutputInternals* internals = nullptr;
  TableVerdict checked;
  std::vector<bool> primary, suppressed;
  Verdict verdict = Verdict::kPass;
  std::string summary;
  std::set<std::string> rules;

  size_t width() const { return table.column_labels.size(); }
  // The published totals, each as the cells it sums, with its label.
  std::vector<std::pair<std::string, std::vector<int>>> Totals() const {
    std::vector<std::pair<std::string, std::vector<int>>> totals;
    std::vector<int> all;
    for (size_t i = 0; i < table.cells.size(); ++i) all.push_back(static_cast<int>(i));
    if (crosstab) {
      for (size_t r = 0; r < table.row_labels.size(); ++r) {
        std::vector<int> row;
        for (size_t c = 0; c < width(); ++c) row.push_back(static_cast<int>(r * width() + c));
        totals.emplace_back(absl::StrCat(table.row_labels[r], " / Total"), row);
      }
      for (size_t c = 0; c < width(); ++c) {
        std::vector<int> column;
        for (size_t r = 0; r < table.row_labels.size(); ++r) {
          column.push_back(static_cast<int>(r * width() + c));
        }
        totals.emplace_back(absl::StrCat("Total / ", table.column_labels[c]), column);
      }
    }
    totals.emplace_back(crosstab ? "Total / Total" : "Total", all);
    return totals;
  }
  std::string CellLabel(size_t i) const {
    return crosstab ? absl::StrCat(table.row_labels[i / width()], " / ",
                                   table.column_labels[i % width()])
                    : table.column_labels[i];
  }
};

CountOutput CountOutputOf(const ResultTable& result, const OutputInternals* internals) {
  CountOutput output;
  output.result = &result;
  output.crosstab = result.kind() == trenode::v1::OUTPUT_KIND_CROSSTAB;
  output.internals = internals;
  if (output.crosstab) {
    output.margins = {};
    std::map<std::string, int> rows, columns;
    for (const auto& cell : result.cells()) {
      if (cell.margin()) continue;
      if (rows.emplace(cell.group(0), static_cast<int>(rows.size())).second) {
        output.table.row_labels.push_back(cell.group(0));
      }
      if (columns.emplace(cell.group(1), static_cast<int>(columns.size())).second) {
        output.table.column_labels.push_back(cell.group(1));
      }
      output.table.cells.push_back(Count(cell.count()));
    }
  } else {
    output.margins = {.rows = true, .columns = false};
    output.table.row_labels = {"count"};
    for (const auto& cell : result.cells()) {
      output.table.column_labels.push_back(
          cell.group().empty() ? "count" : absl::StrJoin(cell.group(), " / "));
      output.table.cells.push_back(Count(cell.count()));
    }
  }
  if (internals != nullptr && internals->cells_size() == static_cast<int>(output.table.cells.size())) {
    for (const auto& cell : internals->cells()) {
      output.persons.push_back(query::DecodePersons(cell.persons()).value_or(query::PersonSet{}));
      output.keys.push_back(cell.cell_key());
    }
  }
  return output;
}

// Each cell's published value; nullopt where suppressed or redacted.
using Published = std::vector<std::optional<int64_t>>;

// The cells a file publishes, with the persons behind them.
void RecordPublished(const CountOutput& output, const Published& published,
                     const std::vector<std::optional<int64_t>>& totals_published, bool perturbed,
                     std::vector<LedgerCell>& ledger) {
  if (output.persons.empty()) return;
  for (size_t i = 0; i < published.size(); ++i) {
    if (!published[i] || output.persons[i].empty()) continue;
    ledger.push_back({0, "", "", output.CellLabel(i), LedgerKind::kCount, perturbed,
                      output.persons[i]});
  }
  auto totals = output.Totals();
  for (size_t t = 0; t < totals.size(); ++t) {
    if (!totals_published[t]) continue;
    std::vector<const query::PersonSet*> parts;
    for (int cell : totals[t].second) parts.push_back(&output.persons[cell]);
    query::PersonSet persons = query::Union(parts);
    if (persons.empty()) continue;
    ledger.push_back(
        {0, "", "", totals[t].first, LedgerKind::kCount, perturbed, std::move(persons)});
  }
}

// Suppresses and audits one table on its own; sets the output's verdict.
void ProtectAlone(CountOutput& output, const Policy& policy, int64_t lower, absl::Time deadline) {
  output.checked = disclosure::CheckTable(output.table, policy);
  absl::StatusOr<disclosure::Suppression> protection =
      disclosure::Suppress(output.table, output.checked, output.margins, lower, deadline);
  if (!protection.ok()) {
    output.suppressed.assign(output.table.cells.size(), false);
    output.primary = output.suppressed;
    for (size_t i = 0; i < output.checked.cells.size(); ++i) {
      output.suppressed[i] = output.checked.cells[i].verdict != Verdict::kPass;
    }
    output.verdict = Verdict::kReview;
    output.summary = absl::StrCat(disclosure::Summary(output.checked),
                                  "suppression: ", protection.status().message());
    output.rules = {disclosure::kLinked};
    return;
  }
  output.primary = protection->primary;
  output.suppressed = protection->suppressed;
}

// The published totals must pass the rules too.
void CheckTotals(CountOutput& output, const Policy& policy) {
  std::vector<std::string> failing;
  for (const auto& [label, cells] : output.Totals()) {
    int64_t sum = 0;
    for (int cell : cells) sum += output.table.cells[cell].contributors;
    disclosure::CellVerdict verdict = disclosure::CheckCell(Count(sum), policy);
    if (verdict.verdict != Verdict::kPass) {
      failing.push_back(absl::StrCat(label, " (", sum, "): ", verdict.outcomes[0].reason));
    }
  }
  if (failing.empty()) return;
  output.verdict = Verdict::kFail;
  output.summary = absl::StrCat("fail; published totals fail the rules: ",
                                absl::StrJoin(failing, "; "));
  output.rules = {disclosure::kTotals};
}

// Joint protection of an analysis's count outputs, one or several, against
// its joint table: every suppressed cell and every small group of persons
// (spec/disclosure.md, "Linked tables").
void ProtectJointly(std::vector<CountOutput>& outputs, const QueryInternals* internals,
                    int64_t small, absl::Time deadline) {
  std::vector<CountOutput*> suppressing;
  for (CountOutput& output : outputs) {
    if (output.verdict != Verdict::kFail) suppressing.push_back(&output);
  }
  if (outputs.empty()) return;
  // Unproven is unsafe: a small group may show between tables that have no
  // suppressed cell at all, so every table goes to a checker.
  auto give_up = [&](const std::string& why) {
    for (CountOutput* output : suppressing) {
      if (output->verdict != Verdict::kPass) continue;
      output->verdict = Verdict::kReview;
      output->summary = absl::StrCat("review; linked tables: ", why);
      output->rules = {disclosure::kLinked};
    }
  };
  const bool kept = internals != nullptr && internals->joint().counts_size() > 0;
  for (const CountOutput& output : outputs) {
    if (!kept || output.internals == nullptr || output.persons.empty()) {
      // Analyses from before the node kept joint tables: each table is
      // protected on its own; several need a checker.
      if (outputs.size() > 1) {
        give_up("this analysis kept no joint table to audit its tables against each other");
      }
      return;
    }
  }
  // Each output cell as the joint cells it sums.
  const auto& joint = internals->joint();
  std::vector<int> sizes;
  for (const auto& variable : joint.variables()) sizes.push_back(variable.labels_size());
  std::vector<disclosure::LinkedTable> tables;
  for (const CountOutput& output : outputs) {
    disclosure::LinkedTable table;
    for (const CellFacts& cell : output.table.cells) table.counts.push_back(cell.contributors);
    table.preimage.resize(table.counts.size());
    std::vector<int> categories(sizes.size());
    for (int j = 0; j < joint.counts_size(); ++j) {
      int rest = j;
      for (size_t v = sizes.size(); v-- > 0;) {
        categories[v] = rest % sizes[v];
        rest /= sizes[v];
      }
      int64_t cell = 0;
      // Row-major over the output's group columns, whose sizes the table gives.
      const int group_count = output.internals->groups_size();
      for (int g = 0; g < group_count; ++g) {
        const auto& group = output.internals->groups(g);
        int64_t column_size = output.crosstab ? (g == 0 ? output.table.row_labels.size()
                                                        : output.table.column_labels.size())
                                              : 0;
        if (!output.crosstab) {
          // A list's cells are the grid of its groups; its sizes come from
          // the mappings' largest category.
          for (int category : group.output_category()) {
            column_size = std::max<int64_t>(column_size, category + 1);
          }
        }
        cell = cell * column_size + group.output_category(categories[group.joint_variable()]);
      }
      table.preimage[cell].push_back(j);
    }
    for (const auto& [label, cells] : output.Totals()) table.totals.push_back(cells);
    table.suppressed = output.suppressed;
    tables.push_back(std::move(table));
  }
  std::vector<int64_t> truth(joint.counts().begin(), joint.counts().end());
  disclosure::AuditLimits limits;
  limits.max_time = std::min(limits.max_time, deadline - absl::Now());
  if (limits.max_time <= absl::ZeroDuration()) {
    give_up("the joint audit did not start: the time allowed for protecting the tables ran out");
    return;
  }
  absl::StatusOr<disclosure::LinkedProtection> protection =
      disclosure::ProtectLinked(tables, truth, small, limits);
  if (!protection.ok()) {
    give_up(std::string(protection.status().message()));
    return;
  }
  for (size_t i = 0; i < outputs.size(); ++i) outputs[i].suppressed = tables[i].suppressed;
  if (!protection->complete) give_up(protection->why);
}

std::string PassSummary(const CountOutput& output) {
  int primary = 0, secondary = 0;
  for (size_t i = 0; i < output.suppressed.size(); ++i) {
    primary += output.primary[i];
    secondary += output.suppressed[i] && !output.primary[i];
  }
  if (primary == 0 && secondary == 0) return "pass; every cell passes";
  return absl::StrCat("pass after suppression: ", disclosure::Summary(output.checked), primary,
                      " cells suppressed, ", secondary,
                      " complementary; the audit finds no suppressed cell recoverable");
}

bool Rounds(const Policy& policy) { return policy.rounding_base > 0; }

std::optional<int64_t> Rounded(int64_t count, const Policy& policy) {
  if (count <= policy.redact_at_or_below) return std::nullopt;
  int64_t base = policy.rounding_base;
  return (count + base / 2) / base * base;
}

// The CSV of a counts or crosstab output with what is published.
CandidateFile CountsFile(const CountOutput& output, const Policy& policy) {
  const Table& table = output.table;
  const size_t width = output.width();
  Published published(table.cells.size());
  std::vector<std::optional<int64_t>> totals_published;
  auto totals = output.Totals();
  bool perturbed = policy.cell_key && !output.persons.empty();
  Verdict verdict = output.verdict;
  std::string summary = output.summary;
  std::set<std::string> rules = output.rules;
  if (policy.cell_key) {
    for (size_t i = 0; i < table.cells.size(); ++i) {
      published[i] = perturbed ? disclosure::PerturbedCount(table.cells[i].contributors,
                                                            output.keys[i])
                               : table.cells[i].contributors;
    }
    for (const auto& [label, cells] : totals) {
      int64_t sum = 0;
      uint64_t key = 0;
      for (int cell : cells) {
        sum += table.cells[cell].contributors;
        key += perturbed ? output.keys[cell] : 0;
      }
      totals_published.push_back(
          perturbed ? disclosure::PerturbedCount(sum, disclosure::CellKeyOf(key)) : sum);
    }
    if (perturbed) {
      verdict = Verdict::kPass;
      summary = "pass; every cell and total perturbed by its cell key (cell_key policy)";
      rules = {};
    } else {
      verdict = Verdict::kReview;
      summary = "review; this analysis kept no record keys to perturb its cells";
      rules = {disclosure::kLinked};
    }
  } else if (Rounds(policy)) {
    int64_t redacted = 0;
    for (size_t i = 0; i < table.cells.size(); ++i) {
      published[i] = Rounded(table.cells[i].contributors, policy);
      redacted += !published[i].has_value();
    }
    for (const auto& [label, cells] : totals) {
      int64_t sum = 0;
      for (int cell : cells) sum += published[cell].value_or(0);
      totals_published.push_back(sum);
    }
    verdict = Verdict::kPass;
    rules = {};
    summary = absl::StrCat("pass after redaction and rounding: ", redacted, " cells at or below ",
                           policy.redact_at_or_below,
                           " redacted, counts rounded to multiples of ", policy.rounding_base,
                           ", totals summed from what is published");
  } else {
    for (size_t i = 0; i < table.cells.size(); ++i) {
      if (!output.suppressed[i]) published[i] = table.cells[i].contributors;
    }
    for (const auto& [label, cells] : totals) {
      int64_t sum = 0;
      for (int cell : cells) sum += table.cells[cell].contributors;
      totals_published.push_back(sum);
    }
    if (verdict == Verdict::kPass) summary = PassSummary(output);
  }
  auto text = [](const std::optional<int64_t>& value) {
    return value ? absl::StrCat(*value) : std::string();
  };
  std::string csv;
  const ResultTable& result = *output.result;
  if (output.crosstab) {
    std::vector<std::string> header = {
        absl::StrCat(result.group_columns(0), " \\ ", result.group_columns(1))};
    header.insert(header.end(), table.column_labels.begin(), table.column_labels.end());
    header.push_back("Total");
    csv = CsvLine(header);
    for (size_t r = 0; r < table.row_labels.size(); ++r) {
      std::vector<std::string> line = {table.row_labels[r]};
      for (size_t c = 0; c < width; ++c) line.push_back(text(published[r * width + c]));
      line.push_back(text(totals_published[r]));
      absl::StrAppend(&csv, CsvLine(line));
    }
    std::vector<std::string> last = {"Total"};
    for (size_t c = 0; c < width; ++c) {
      last.push_back(text(totals_published[table.row_labels.size() + c]));
    }
    last.push_back(text(totals_published.back()));
    absl::StrAppend(&csv, CsvLine(last));
  } else {
    std::vector<std::string> header(result.group_columns().begin(), result.group_columns().end());
    header.push_back("count");
    csv = CsvLine(header);
    for (int i = 0; i < result.cells_size(); ++i) {
      std::vector<std::string> line(result.cells(i).group().begin(),
                                    result.cells(i).group().end());
      line.push_back(text(published[i]));
      absl::StrAppend(&csv, CsvLine(line));
    }
    // A pooled table's groups some node suppressed: empty, and not in the total.
    for (const auto& withheld : result.withheld()) {
      std::vector<std::string> line(withheld.group().begin(), withheld.group().end());
      line.push_back("");
      absl::StrAppend(&csv, CsvLine(line));
    }
    std::vector<std::string> last(result.group_columns_size(), "Total");
    last.push_back(text(totals_published.back()));
    absl::StrAppend(&csv, CsvLine(last));
  }
  CandidateFile file =
      FinishFile(absl::StrCat(result.output(), ".csv"), std::move(csv), verdict, summary, rules);
  file.suppressed = perturbed || Rounds(policy) || result.withheld_size() > 0 ||
                    std::find(output.suppressed.begin(), output.suppressed.end(), true) !=
                        output.suppressed.end();
  file.table = table;
  file.checked = output.checked.cells.empty() ? disclosure::CheckTable(table, policy)
                                              : output.checked;
  RecordPublished(output, published, totals_published, perturbed, file.published);
  return file;
}

CandidateFile SummaryFile(const ResultTable& result, const OutputInternals* internals,
                          const Policy& policy) {
  Table table;
  table.column_labels = {"value"};
  for (const auto& cell : result.cells()) {
    table.row_labels.push_back(absl::StrJoin(cell.group(), " / "));
    CellFacts facts;
    facts.magnitude = true;
    facts.contributors = cell.evidence().contributors();
    facts.total = std::llround(cell.sum() * kScale);
    for (double value : cell.evidence().largest()) {
      facts.largest.push_back(std::llround(value * kScale));
    }
    facts.negatives = cell.evidence().negative_contributions();
    facts.single_value = cell.evidence().single_value();
    table.cells.push_back(facts);
  }
  TableVerdict verdict = disclosure::CheckTable(table, policy);
  // A value taking few values (an indicator, a code) makes the sum a count of
  // persons: each value must be held by a group that is not small.
  const int64_t small = disclosure::SmallGroup(policy);
  for (int i = 0; i < result.cells_size(); ++i) {
    const trenode::v1::CellEvidence& evidence = result.cells(i).evidence();
    for (int level = 0; level < evidence.level_persons_size(); ++level) {
      if (evidence.level_persons(level) >= small) continue;
      disclosure::CellVerdict& cell = verdict.cells[i];
      cell.verdict = Verdict::kFail;
      cell.outcomes.push_back(
          {disclosure::kSummaryLevels, Verdict::kFail,
           absl::StrCat("the value ", query::FormatNumber(evidence.level_values(level)),
                        " is held by ", evidence.level_persons(level), " persons, fewer than ",
                        small)});
      verdict.by_rule[disclosure::kSummaryLevels].emplace_back(i, 0);
      verdict.verdict = Worse(verdict.verdict, Verdict::kFail);
      break;
    }
  }
  // No totals are published with a summary: a cell failing a rule is left
  // empty and nothing can bring it back.
  std::vector<std::string> header(result.group_columns().begin(), result.group_columns().end());
  header.insert(header.end(), {"n", "mean", "sd", "sum"});
  std::string csv = CsvLine(header);
  int hidden = 0;
  CandidateFile file;
  for (int i = 0; i < result.cells_size(); ++i) {
    const auto& cell = result.cells(i);
    std::vector<std::string> row(cell.group().begin(), cell.group().end());
    bool shown = verdict.cells[i].verdict == Verdict::kPass;
    hidden += !shown;
    if (shown) {
      row.insert(row.end(), {absl::StrCat(cell.n()), query::FormatNumber(cell.mean()),
                             query::FormatNumber(cell.sd()), query::FormatNumber(cell.sum())});
      if (internals != nullptr && i < internals->cells_size()) {
        const auto& kept = internals->cells(i);
        query::PersonSet persons =
            query::DecodePersons(kept.persons()).value_or(query::PersonSet{});
        if (!persons.empty()) {
          file.published.push_back({0, "", "", table.row_labels[i], LedgerKind::kSummary, false,
                                    std::move(persons)});
        }
        // A few-valued value's sum counts each value's persons: those groups
        // are what differencing would reach.
        for (const auto& level : kept.levels()) {
          query::PersonSet holders =
              query::DecodePersons(level.persons()).value_or(query::PersonSet{});
          if (holders.empty()) continue;
          file.published.push_back({0, "", "",
                                    absl::StrCat(table.row_labels[i], " = ",
                                                 query::FormatNumber(level.value())),
                                    LedgerKind::kSummary, false, std::move(holders)});
        }
      }
    } else {
      row.insert(row.end(), {"", "", "", ""});
    }
    absl::StrAppend(&csv, CsvLine(row));
  }
  // A pooled table's groups some node suppressed: empty.
  for (const auto& withheld : result.withheld()) {
    std::vector<std::string> row(withheld.group().begin(), withheld.group().end());
    row.insert(row.end(), {"", "", "", ""});
    absl::StrAppend(&csv, CsvLine(row));
    ++hidden;
  }
  std::string summary =
      hidden == 0 ? "pass; every cell passes"
                  : absl::StrCat("pass after suppression: ", disclosure::Summary(verdict), hidden,
                                 " cells left empty");
  CandidateFile built =
      FinishFile(absl::StrCat(result.output(), ".csv"), std::move(csv), Verdict::kPass, summary, {});
  built.published = std::move(file.published);
  built.suppressed = hidden > 0;
  built.table = std::move(table);
  built.checked = std::move(verdict);
  return built;
}

CandidateFile RegressionFile(const ResultTable& result, const OutputInternals* internals,
                             const Policy& policy, RegressionRelease release) {
  const auto& r = result.regression();
  std::vector<disclosure::TermLevels> few_valued;
  for (const auto& term : r.few_valued_terms()) {
    few_valued.push_back({term.term(),
                          {term.values().begin(), term.values().end()},
                          {term.persons().begin(), term.persons().end()}});
  }
  const int terms = r.terms_size();
  disclosure::CellVerdict verdict =
      disclosure::CheckRegressionFit(r.n(), terms, few_valued, r.max_leverage(), policy);
  absl::StatusOr<disclosure::OlsFit> fit =
      disclosure::FitOls({r.xtx().begin(), r.xtx().end()}, {r.xty().begin(), r.xty().end()},
                         r.yty(), r.n());
  std::set<std::string> rules;
  for (const auto& outcome : verdict.outcomes) rules.insert(outcome.rule);
  std::string csv = CsvLine({"term", "coefficient", "std_error"});
  for (int i = 0; i < terms; ++i) {
    absl::StrAppend(&csv, CsvLine({r.terms(i),
                                   fit.ok() ? query::FormatNumber(fit->coefficients[i]) : "",
                                   fit.ok() ? query::FormatNumber(fit->standard_errors[i]) : ""}));
  }
  absl::StrAppend(&csv, CsvLine({"n", absl::StrCat(r.n()), ""}),
                  CsvLine({"residual_dof", absl::StrCat(r.residual_degrees_of_freedom()), ""}));
  // Held to the fit's rules: the home node fits the pooled statistics.
  if (release == RegressionRelease::kSufficientStatistics) csv = RegressionStatisticsCsv(r);
  std::string summary;
  Verdict outcome = verdict.verdict;
  if (!fit.ok()) {
    outcome = Verdict::kFail;
    rules.insert(disclosure::kRegressionN);
    summary = absl::StrCat("fail; ", fit.status().message());
  } else if (verdict.outcomes.empty()) {
    summary = absl::StrCat(
        "pass; n = ", r.n(), ", ", r.residual_degrees_of_freedom(), " residual degrees of freedom",
        release == RegressionRelease::kSufficientStatistics ? "; sufficient statistics for pooling"
                                                            : "");
  } else {
    std::vector<std::string> reasons;
    for (const auto& failed : verdict.outcomes) reasons.push_back(failed.reason);
    summary = absl::StrCat("fail; ", absl::StrJoin(reasons, "; "));
  }
  CandidateFile file =
      FinishFile(absl::StrCat(result.output(), ".csv"), std::move(csv), outcome, summary, rules);
  if (internals != nullptr && internals->cells_size() == 1) {
    query::PersonSet persons =
        query::DecodePersons(internals->cells(0).persons()).value_or(query::PersonSet{});
    if (!persons.empty()) {
      file.published.push_back(
          {0, "", "", "(fit)", LedgerKind::kRegression, false, std::move(persons)});
    }
  }
  return file;
}

}  // namespace

std::vector<CandidateFile> AggregateFiles(const trenode::v1::AggregateResult& result,
                                          const QueryInternals* internals, const Policy& policy,
                                          absl::Time deadline, RegressionRelease regressions) {
  auto internals_of = [&](int index) -> const OutputInternals* {
    if (internals == nullptr || index >= internals->outputs_size()) return nullptr;
    const OutputInternals& output = internals->outputs(index);
    return output.output() == result.tables(index).output() ? &output : nullptr;
  };
  // Hidden cells are known not to be empty when the policy publishes zeros.
  const int64_t lower = disclosure::CheckCell(Count(0), policy).verdict == Verdict::kPass ? 1 : 0;
  std::vector<CountOutput> counts;
  std::map<int, size_t> count_index;
  for (int i = 0; i < result.tables_size(); ++i) {
    const ResultTable& table = result.tables(i);
    if (table.kind() != trenode::v1::OUTPUT_KIND_COUNTS &&
        table.kind() != trenode::v1::OUTPUT_KIND_CROSSTAB) {
      continue;
    }
    count_index[i] = counts.size();
    counts.push_back(CountOutputOf(table, internals_of(i)));
  }
  if (!policy.cell_key && !Rounds(policy)) {
    for (CountOutput& output : counts) {
      ProtectAlone(output, policy, lower, deadline);
      CheckTotals(output, policy);
    }
    ProtectJointly(counts, internals, disclosure::SmallGroup(policy), deadline);
  } else {
    for (CountOutput& output : counts) output.checked = disclosure::CheckTable(output.table, policy);
  }
  std::vector<CandidateFile> files;
  for (int i = 0; i < result.tables_size(); ++i) {
    const ResultTable& table = result.tables(i);
    switch (table.kind()) {
      case trenode::v1::OUTPUT_KIND_COUNTS:
      case trenode::v1::OUTPUT_KIND_CROSSTAB:
        files.push_back(CountsFile(counts[count_index[i]], policy));
        break;
      case trenode::v1::OUTPUT_KIND_SUMMARY:
        files.push_back(SummaryFile(table, internals_of(i), policy));
        break;
      default:
        files.push_back(RegressionFile(table, internals_of(i), policy, regressions));
        break;
    }
  }
  return files;
}

}  // namespace trenode::releases
