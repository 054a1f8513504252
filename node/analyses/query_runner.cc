#include "node/analyses/query_runner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::analyses {
namespace {
using storage::SqliteDb;
using storage::SqliteStatement;
using trenode::v1::ResultCell;
using trenode::v1::ResultTable;
using ValueType = SqliteStatement::ValueType;

constexpr char kMissing[] = "(missing)";
constexpr char kTotal[] = "Total";
constexpr int kLargestKept = 3;

absl::StatusOr<SqliteStatement> Prepare(SqliteDb& db, const Statement& statement) {
  auto prepared = db.Prepare(statement.sql);
  if (!prepared.ok()) {
    return absl::InternalError(absl::StrCat(
        "the dataset file does not match its catalogue schema: ", prepared.status().message()));
  }
  for (size_t i = 0; i < statement.params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    std::visit([&](const auto& value) { prepared->Bind(index, value); }, statement.params[i]);
  }
  return std::move(prepared).value();
}

absl::StatusOr<bool> Step(SqliteStatement& statement) {
  auto row = statement.Step();
  if (!row.ok()) {
    if (absl::IsCancelled(row.status())) return row.status();  // stopped by the caller
    return absl::InternalError(
        absl::StrCat("reading the dataset failed: ", row.status().message()));
  }
  return *row;
}

// Orders group values as SQL does: missing, numbers, then text.
struct SortKey {
  int kind;
  double number;
  std::string text;
  bool operator<(const SortKey& other) const {
    return std::tie(kind, number, text) < std::tie(other.kind, other.number, other.text);
  }
};

SortKey KeyOf(const SqliteStatement& row, int column) {
  switch (row.TypeOf(column)) {
    case ValueType::kNull:
      return {0, 0, ""};
    case ValueType::kInteger:
    case ValueType::kReal:
      return {1, row.Double(column), ""};
    default:
      return {2, 0, row.Text(column)};
  }
}

std::string Label(const SqliteStatement& row, int column, const GroupColumn& group) {
  switch (row.TypeOf(column)) {
    case ValueType::kNull:
      return kMissing;
    case ValueType::kInteger: {
      int64_t value = row.Int64(column);
      if (group.bin_labels.empty()) return absl::StrCat(value);
      if (value >= 0 && value < static_cast<int64_t>(group.bin_labels.size())) {
        return group.bin_labels[value];
      }
      return absl::StrCat("bin ", value);
    }
    case ValueType::kReal:
      return absl::StrCat(row.Double(column));
    default:
      return row.Text(column);
  }
}

std::vector<std::string> Labels(const SqliteStatement& row, const CompiledOutput& output) {
  std::vector<std::string> labels;
  for (size_t i = 0; i < output.groups.size(); ++i) {
    labels.push_back(Label(row, static_cast<int>(i), output.groups[i]));
  }
  return labels;
}

ResultTable NewTable(const CompiledOutput& output) {
  ResultTable table;
  table.set_output(output.name);
  table.set_kind(output.kind);
  for (const GroupColumn& group : output.groups) table.add_group_columns(group.label);
  return table;
}

absl::Status TooManyCells(const CompiledOutput& output) {
  return absl::FailedPreconditionError(
      absl::StrCat("output ", output.name, " has more than ", kMaxResultCells,
                   " cells, which is close to row-level data; coarsen its grouping"));
}

ResultCell CountCell(std::vector<std::string> group, int64_t count, bool margin = false) {
  ResultCell cell;
  for (std::string& label : group) cell.add_group(std::move(label));
  cell.set_count(count);
  cell.set_margin(margin);
  cell.mutable_evidence()->set_contributors(count);
  return cell;
}

absl::StatusOr<ResultTable> RunCounts(SqliteDb& db, const CompiledOutput& output) {
  ASSIGN_OR_RETURN(SqliteStatement statement, Prepare(db, output.statement));
  ResultTable table = NewTable(output);
  int count_column = static_cast<int>(output.groups.size());
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step(statement));
    if (!row) break;
    if (table.cells_size() >= kMaxResultCells) return TooManyCells(output);
    *table.add_cells() = CountCell(Labels(statement, output), statement.Int64(count_column));
  }
  return table;
}

// Every row x column cell (zeros included), then row, column and grand totals.
absl::StatusOr<ResultTable> RunCrosstab(SqliteDb& db, const CompiledOutput& output) {
  ASSIGN_OR_RETURN(SqliteStatement statement, Prepare(db, output.statement));
  std::map<SortKey, std::string> rows, columns;
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step(statement));
    if (!row) break;
    std::vector<std::string> labels = Labels(statement, output);
    rows.emplace(KeyOf(statement, 0), labels[0]);
    columns.emplace(KeyOf(statement, 1), labels[1]);
    counts[{labels[0], labels[1]}] = statement.Int64(2);
    if (rows.size() * columns.size() > static_cast<size_t>(kMaxResultCells)) {
      return TooManyCells(output);
    }
  }
  ResultTable table = NewTable(output);
  std::map<std::string, int64_t> column_totals;
  int64_t total = 0;
  for (const auto& [row_key, row_label] : rows) {
    int64_t row_total = 0;
    for (const auto& [column_key, column_label] : columns) {
      auto found = counts.find({row_label, column_label});
      int64_t count = found == counts.end() ? 0 : found->second;
      *table.add_cells() = CountCell({row_label, column_label}, count);
      row_total += count;
      column_totals[column_label] += count;
    }
    *table.add_cells() = CountCell({row_label, kTotal}, row_total, true);
    total += row_total;
  }
  for (const auto& [column_key, column_label] : columns) {
    *table.add_cells() = CountCell({kTotal, column_label}, column_totals[column_label], true);
  }
  *table.add_cells() = CountCell({kTotal, kTotal}, total, true);
  return table;
}

// The statistics of one summary cell, accumulated one person at a time.
class SummaryCell {
 public:
  void Add(const SqliteStatement& row, int column) {
    ++count_;
    if (row.IsNull(column)) return;
    double value = row.Double(column);
    ++n_;
    sum_ += value;
    sum_of_squares_ += value * value;
    double delta = value - mean_;
    mean_ += delta / static_cast<double>(n_);
    m2_ += delta * (value - mean_);
    if (value < 0) ++negatives_;
    if (n_ == 1) first_ = value;
    single_value_ = single_value_ && value == first_;
    largest_.push_back(value);
    std::sort(largest_.begin(), largest_.end(),
              [](double a, double b) { return std::fabs(a) > std::fabs(b); });
    if (largest_.size() > kLargestKept) largest_.pop_back();
  }

  ResultCell Finish(std::vector<std::string> group) const {
    ResultCell cell;
    for (std::string& label : group) cell.add_group(std::move(label));
    cell.set_count(count_);
    cell.set_n(n_);
    cell.set_sum(sum_);
    cell.set_sum_of_squares(sum_of_squares_);
    cell.set_mean(n_ > 0 ? mean_ : 0);
    cell.set_sd(n_ > 1 ? std::sqrt(m2_ / static_cast<double>(n_ - 1)) : 0);
    trenode::v1::CellEvidence* evidence = cell.mutable_evidence();
    evidence->set_contributors(n_);
    for (double value : largest_) evidence->add_largest(value);
    evidence->set_negative_contributions(negatives_);
    evidence->set_single_value(n_ > 0 && single_value_);
    return cell;
  }

 private:
  int64_t count_ = 0, n_ = 0, negatives_ = 0;
  double sum_ = 0, sum_of_squares_ = 0, mean_ = 0, m2_ = 0, first_ = 0;
  bool single_value_ = true;
  std::vector<double> largest_;
};

absl::StatusOr<ResultTable> RunSummary(SqliteDb& db, const CompiledOutput& output) {
  ASSIGN_OR_RETURN(SqliteStatement statement, Prepare(db, output.statement));
  ResultTable table = NewTable(output);
  int value_column = static_cast<int>(output.groups.size());
  std::optional<std::vector<std::string>> current;
  SummaryCell cell;
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step(statement));
    if (!row) break;
    std::vector<std::string> labels = Labels(statement, output);
    if (current && labels != *current) {
      if (table.cells_size() >= kMaxResultCells) return TooManyCells(output);
      *table.add_cells() = cell.Finish(*std::move(current));
      cell = SummaryCell();
    }
    current = std::move(labels);
    cell.Add(statement, value_column);
  }
  if (current) *table.add_cells() = cell.Finish(*std::move(current));
  return table;
}

absl::StatusOr<ResultTable> RunRegression(SqliteDb& db, const CompiledOutput& output) {
  ASSIGN_OR_RETURN(SqliteStatement statement, Prepare(db, output.statement));
  size_t terms = output.terms.size();
  size_t predictors = terms - (output.intercept ? 1 : 0);
  std::vector<double> xtx(terms * terms, 0), xty(terms, 0), x(terms, 1);
  double yty = 0;
  int64_t n = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step(statement));
    if (!row) break;
    bool complete = true;
    for (size_t i = 0; i <= predictors; ++i) complete = complete && !statement.IsNull(i);
    if (!complete) continue;
    double y = statement.Double(0);
    for (size_t i = 0; i < predictors; ++i) {
      x[i + (output.intercept ? 1 : 0)] = statement.Double(static_cast<int>(i + 1));
    }
    for (size_t i = 0; i < terms; ++i) {
      for (size_t j = 0; j < terms; ++j) xtx[i * terms + j] += x[i] * x[j];
      xty[i] += x[i] * y;
    }
    yty += y * y;
    ++n;
  }
  ResultTable table = NewTable(output);
  trenode::v1::RegressionResult* result = table.mutable_regression();
  result->set_n(n);
  for (const std::string& term : output.terms) result->add_terms(term);
  for (double value : xtx) result->add_xtx(value);
  for (double value : xty) result->add_xty(value);
  result->set_yty(yty);
  result->set_residual_degrees_of_freedom(n - static_cast<int64_t>(terms));
  return table;
}

}  // namespace

absl::StatusOr<trenode::v1::AggregateResult> RunQuery(SqliteDb& dataset,
                                                      const CompiledQuery& query) {
  trenode::v1::AggregateResult result;
  for (const CompiledOutput& output : query.outputs) {
    absl::StatusOr<ResultTable> table;
    switch (output.kind) {
      case trenode::v1::OUTPUT_KIND_COUNTS:
        table = RunCounts(dataset, output);
        break;
      case trenode::v1::OUTPUT_KIND_CROSSTAB:
        table = RunCrosstab(dataset, output);
        break;
      case trenode::v1::OUTPUT_KIND_SUMMARY:
        table = RunSummary(dataset, output);
        break;
      case trenode::v1::OUTPUT_KIND_REGRESSION:
        table = RunRegression(dataset, output);
        break;
      default:
        return absl::InternalError(absl::StrCat("output ", output.name, " has no kind"));
    }
    if (!table.ok()) return table.status();
    *result.add_tables() = *std::move(table);
  }
  // Every cohort member is in exactly one non-margin cell of a counts,
  // crosstab or summary table; only regressions need the cohort counted.
  for (const ResultTable& table : result.tables()) {
    if (table.kind() == trenode::v1::OUTPUT_KIND_REGRESSION) continue;
    int64_t size = 0;
    for (const ResultCell& cell : table.cells()) size += cell.margin() ? 0 : cell.count();
    result.set_cohort_size(size);
    return result;
  }
  ASSIGN_OR_RETURN(SqliteStatement statement, Prepare(dataset, query.cohort_size));
  ASSIGN_OR_RETURN(bool row, Step(statement));
  result.set_cohort_size(row ? statement.Int64(0) : 0);
  return result;
}

}  // namespace trenode::analyses
