#include "node/query/runner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "node/catalogue/person_rowid_column.h"
#include "node/common/status_macros.h"
#include "node/disclosure/regression.h"
#include "node/query/bind_params.h"
#include "node/query/category_memo.h"
#include "node/query/lone_feature.h"
#include "node/query/pass_row.h"
#include "node/query/person_columns.h"
#include "node/query/person_sets.h"

namespace trenode::query {
namespace {
using storage::SqliteDb;
using storage::SqliteStatement;
using trenode::v1::ResultCell;
using trenode::v1::ResultTable;
using ValueType = SqliteStatement::ValueType;
using disclosure::InvertSymmetric;

constexpr int kLargestKept = 3;

// A predictor with at most this many distinct values is few-valued.
constexpr size_t kFewValues = 10;

absl::StatusOr<SqliteStatement> Prepare(SqliteDb& db, const Statement& statement) {
  auto prepared = db.Prepare(statement.sql);
  if (!prepared.ok()) {
    return absl::InternalError(absl::StrCat(
        "the dataset file does not match its catalogue schema: ", prepared.status().message()));
  }
  if (absl::Status bound = BindParams(*prepared, statement.params); !bound.ok()) {
    return absl::InternalError(absl::StrCat("a query statement: ", bound.message()));
  }
  return std::move(prepared).value();
}

absl::Status OutsideCategories();

// The category of statement column `column` of the current row.
absl::StatusOr<int> CategoryOf(const PassRow& row, int column, CategoryMemo& memo) {
  std::optional<int> category;
  switch (row.TypeOf(column)) {
    case ValueType::kNull:
      category = memo.OfMissing();
      break;
    case ValueType::kInteger:
      category = memo.OfInteger(row.Int64(column));
      break;
    case ValueType::kReal:
      category = memo.OfReal(row.Double(column));
      break;
    default:
      category = memo.OfText(row.TextView(column));
      break;
  }
  if (!category) return OutsideCategories();
  return *category;
}

// The persons of one cell and the sum of their record keys.
struct CellPeople {
  PersonSet persons;
  uint32_t key = 0;
  void Add(const PersonCode& code) {
    persons.push_back(code.ordinal);
    key += code.record_key;  // wraps: mod 2^32
  }
  trenode::internal::CellPersons Finish() {
    // A pass in rowid order usually gives the ordinals in order already.
    if (!std::is_sorted(persons.begin(), persons.end())) std::sort(persons.begin(), persons.end());
    trenode::internal::CellPersons cell;
    cell.set_persons(EncodePersons(persons));
    cell.set_cell_key(key);
    return cell;
  }
};

// The statistics of one summary cell, accumulated one person at a time.
class SummaryCell {
 public:
  void Add(const PassRow& row, int column, const PersonCode& code) {
    AddPerson();
    if (!row.IsNull(column)) AddValue(row, column, code);
  }
  // A person of the cell, with or without a value.
  void AddPerson() { ++count_; }
  // The value of a person of the cell (not null), counted apart.
  void AddValue(const PassRow& row, int column, const PersonCode& code) {
    double value = row.Double(column);
    if (levels_.size() <= kFewValues) levels_[value].Add(code);
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
    // Ties (v and -v) ordered too, so that the order persons come in
    // changes nothing.
    std::sort(largest_.begin(), largest_.end(), [](double a, double b) {
      return std::fabs(a) != std::fabs(b) ? std::fabs(a) > std::fabs(b) : a > b;
    });
    if (largest_.size() > kLargestKept) largest_.pop_back();
  }

  void Finish(ResultCell& cell) const {
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
    if (levels_.size() <= kFewValues) {
      for (const auto& [value, people] : levels_) {
        evidence->add_level_values(value);
        evidence->add_level_persons(static_cast<int64_t>(people.persons.size()));
      }
    }
  }

  // The persons holding each value, if the value takes few.
  void FinishLevels(trenode::internal::CellPersons& cell) {
    if (levels_.size() > kFewValues) return;
    for (auto& [value, people] : levels_) {
      trenode::internal::CellPersons finished = people.Finish();
      trenode::internal::LevelPersons* level = cell.add_levels();
      level->set_value(value);
      level->set_persons(finished.persons());
    }
  }

 private:
  std::map<double, CellPeople> levels_;  // up to kFewValues + 1
  int64_t count_ = 0, n_ = 0, negatives_ = 0;
  double sum_ = 0, sum_of_squares_ = 0, mean_ = 0, m2_ = 0, first_ = 0;
  bool single_value_ = true;
  std::vector<double> largest_;
};

// One output's accumulators.
class OutputAccumulator {
 public:
  // `kept_values`: how many predictor values a regression may keep from
  // the first pass for its leverage.
  OutputAccumulator(const OutputPlan& plan, size_t kept_values)
      : plan_(plan), kept_values_(kept_values) {
    std::vector<const Categories*> columns;
    for (const GroupPlan& group : plan.groups) {
      columns.push_back(&group.categories);
      memos_.emplace_back(group.categories);
    }
    grid_ = std::make_unique<Grid>(columns);
    size_t cells = static_cast<size_t>(grid_->size());
    people_.resize(plan.kind == trenode::v1::OUTPUT_KIND_REGRESSION ? 1 : cells);
    if (plan.kind == trenode::v1::OUTPUT_KIND_SUMMARY) summaries_.resize(cells);
    if (plan.kind == trenode::v1::OUTPUT_KIND_COUNTS ||
        plan.kind == trenode::v1::OUTPUT_KIND_CROSSTAB) {
      counts_.assign(cells, 0);
    }
    if (plan.kind == trenode::v1::OUTPUT_KIND_REGRESSION) {
      size_t terms = plan.term_names.size();
      xtx_.assign(terms * terms, 0);
      xty_.assign(terms, 0);
      x_.assign(terms, 1);
      values_.resize(plan.terms.size());  // the outcome, then each predictor
    }
  }

  // Count-like outputs: each group's category is found from its joint
  // variable's (a refinement of it), so each value is placed once a row.
  void CoarsenFrom(const CompiledQuery& query) {
    if (plan_.kind != trenode::v1::OUTPUT_KIND_COUNTS &&
        plan_.kind != trenode::v1::OUTPUT_KIND_CROSSTAB) {
      return;
    }
    for (const GroupPlan& group : plan_.groups) {
      coarsening_.push_back(
          Coarsening(query.joint[group.joint_variable].categories, group.categories));
    }
  }

  // A row of the cohort pass (`values` false) or of the output's own pass;
  // `joint`: the row's category of each joint variable (cohort pass).
  absl::Status Add(const PassRow& row, const PersonCode& code, bool values,
                   const std::vector<int>& joint) {
    const bool cohort = !values;
    if (plan_.kind == trenode::v1::OUTPUT_KIND_REGRESSION) {
      return plan_.own_pass && cohort ? absl::OkStatus() : AddToFit(row, code);
    }
    categories_.clear();
    for (size_t g = 0; g < plan_.groups.size(); ++g) {
      const GroupPlan& group = plan_.groups[g];
      if (!coarsening_.empty()) {
        categories_.push_back(coarsening_[g][joint[group.joint_variable]]);
        continue;
      }
      ASSIGN_OR_RETURN(int category, CategoryOf(row, group.column, memos_[g]));
      categories_.push_back(category);
    }
    int64_t cell = grid_->IndexOf(categories_);
    if (plan_.kind == trenode::v1::OUTPUT_KIND_SUMMARY) {
      SummaryCell& summary = summaries_[cell];
      if (plan_.own_pass && cohort) {
        summary.AddPerson();  // its value comes in the output's own pass
      } else if (plan_.own_pass) {
        summary.AddValue(row, plan_.value_column, code);  // every row has one
        people_[cell].Add(code);
      } else {
        summary.Add(row, plan_.value_column, code);
        if (!row.IsNull(plan_.value_column)) people_[cell].Add(code);
      }
    } else {
      ++counts_[cell];
      people_[cell].Add(code);
    }
    return absl::OkStatus();
  }

  // Count-like outputs: each joint cell's cell of this output.
  std::vector<int64_t> CellsOfJoint(const Grid& joint) const {
    std::vector<int64_t> cells(static_cast<size_t>(joint.size()));
    std::vector<int> categories(plan_.groups.size());
    for (int64_t j = 0; j < joint.size(); ++j) {
      std::vector<int> joint_categories = joint.CategoriesOf(j);
      for (size_t g = 0; g < plan_.groups.size(); ++g) {
        categories[g] = coarsening_[g][joint_categories[plan_.groups[g].joint_variable]];
      }
      cells[j] = grid_->IndexOf(categories);
    }
    return cells;
  }

  // Count-like outputs: a person of cell `cell`, as Add would count them.
  void AddToCell(int64_t cell, const PersonCode& code) {
    ++counts_[cell];
    people_[cell].Add(code);
  }

  // Summaries with a pass of their own: a person of the cohort in cell
  // `cell`, as Add counts them in the cohort pass.
  void AddPersonToCell(int64_t cell) { summaries_[cell].AddPerson(); }

  // Regressions: measures the fitted persons' leverage from the values
  // kept in the first pass; true if it needs a second pass instead (more
  // persons than it could keep). Nothing to measure if X'X is singular (the
  // fit fails anyway).
  bool MeasureLeverage() {
    if (plan_.kind != trenode::v1::OUTPUT_KIND_REGRESSION || n_ == 0) return false;
    absl::StatusOr<std::vector<double>> inverse = InvertSymmetric(xtx_);
    if (!inverse.ok()) return false;
    inverse_ = *std::move(inverse);
    if (!keeping_) return true;
    const size_t terms = plan_.term_names.size();
    for (size_t row = 0; row + terms <= kept_.size(); row += terms) {
      std::copy(kept_.begin() + row, kept_.begin() + row + terms, x_.begin());
      AddLeverage();
    }
    kept_ = {};
    return false;
  }

  // The second pass: each fitted person's leverage x'(X'X)^-1 x.
  void AddLeverage(const PassRow& row) {
    if (inverse_.empty() || keeping_) return;
    for (int column : plan_.terms) {
      if (row.IsNull(column)) return;
    }
    const size_t first = plan_.intercept ? 1 : 0;
    for (size_t i = 1; i < plan_.terms.size(); ++i) x_[first + i - 1] = row.Double(plan_.terms[i]);
    if (plan_.intercept) x_[0] = 1;
    AddLeverage();
  }

  ResultTable Table() const {
    ResultTable table;
    table.set_output(plan_.name);
    table.set_kind(plan_.kind);
    for (const GroupPlan& group : plan_.groups) table.add_group_columns(group.label);
    switch (plan_.kind) {
      case trenode::v1::OUTPUT_KIND_COUNTS:
        for (int64_t i = 0; i < grid_->size(); ++i) {
          *table.add_cells() = CountCell(grid_->LabelsOf(i), counts_[i]);
        }
        break;
      case trenode::v1::OUTPUT_KIND_CROSSTAB:
        CrosstabCells(table);
        break;
      case trenode::v1::OUTPUT_KIND_SUMMARY:
        for (int64_t i = 0; i < grid_->size(); ++i) {
          ResultCell* cell = table.add_cells();
          for (std::string& label : grid_->LabelsOf(i)) cell->add_group(std::move(label));
          summaries_[i].Finish(*cell);
        }
        break;
      default:
        FitTable(table);
        break;
    }
    return table;
  }

  trenode::internal::OutputInternals Internals(const CompiledQuery& query) {
    trenode::internal::OutputInternals internals;
    internals.set_output(plan_.name);
    for (size_t i = 0; i < people_.size(); ++i) {
      trenode::internal::CellPersons* cell = internals.add_cells();
      *cell = people_[i].Finish();
      if (plan_.kind == trenode::v1::OUTPUT_KIND_SUMMARY) summaries_[i].FinishLevels(*cell);
    }
    if (plan_.kind == trenode::v1::OUTPUT_KIND_COUNTS ||
        plan_.kind == trenode::v1::OUTPUT_KIND_CROSSTAB) {
      for (const GroupPlan& group : plan_.groups) {
        trenode::internal::GroupMapping* mapping = internals.add_groups();
        mapping->set_joint_variable(group.joint_variable);
        for (int category : Coarsening(query.joint[group.joint_variable].categories,
                                       group.categories)) {
          mapping->add_output_category(category);
        }
      }
    }
    return internals;
  }

  // For each category of `fine` (a refinement of `coarse`), coarse's category.
  static std::vector<int> Coarsening(const Categories& fine, const Categories& coarse) {
    std::vector<int> mapping;
    int offset = fine.has_missing() ? 1 : 0;
    for (size_t i = 0; i < fine.size(); ++i) {
      if (!fine.binned()) {
        mapping.push_back(static_cast<int>(i));
      } else if (fine.has_missing() && i == 0) {
        mapping.push_back(*coarse.OfMissing());
      } else {
        size_t bin = i - offset;  // bin k holds values from boundaries[k - 1] on
        double low = bin == 0 ? -INFINITY : fine.boundaries()[bin - 1];
        mapping.push_back(*coarse.OfNumber(low));
      }
    }
    return mapping;
  }

 private:
  static ResultCell CountCell(std::vector<std::string> group, int64_t count, bool margin = false) {
    ResultCell cell;
    for (std::string& label : group) cell.add_group(std::move(label));
    cell.set_count(count);
    cell.set_margin(margin);
    cell.mutable_evidence()->set_contributors(count);
    return cell;
  }

  // Every row x column cell, then row, column and grand totals.
  void CrosstabCells(ResultTable& table) const {
    const std::vector<std::string>& rows = plan_.groups[0].categories.labels();
    const std::vector<std::string>& columns = plan_.groups[1].categories.labels();
    std::vector<int64_t> column_totals(columns.size(), 0);
    int64_t total = 0;
    for (size_t r = 0; r < rows.size(); ++r) {
      int64_t row_total = 0;
      for (size_t c = 0; c < columns.size(); ++c) {
        int64_t count = counts_[r * columns.size() + c];
        *table.add_cells() = CountCell({rows[r], columns[c]}, count);
        row_total += count;
        column_totals[c] += count;
      }
      *table.add_cells() = CountCell({rows[r], kTotalLabel}, row_total, true);
      total += row_total;
    }
    for (size_t c = 0; c < columns.size(); ++c) {
      *table.add_cells() = CountCell({kTotalLabel, columns[c]}, column_totals[c], true);
    }
    *table.add_cells() = CountCell({kTotalLabel, kTotalLabel}, total, true);
  }

  absl::Status AddToFit(const PassRow& row, const PersonCode& code) {
    for (int column : plan_.terms) {
      if (row.IsNull(column)) return absl::OkStatus();  // only persons with every term
    }
    const size_t terms = plan_.term_names.size();
    const size_t first = plan_.intercept ? 1 : 0;
    double y = row.Double(plan_.terms[0]);
    for (size_t i = 0; i < plan_.terms.size(); ++i) {
      double value = row.Double(plan_.terms[i]);
      if (i > 0) x_[first + i - 1] = value;
      std::map<double, int64_t>& seen = values_[i];
      if (seen.size() <= kFewValues) ++seen[value];
    }
    for (size_t i = 0; i < terms; ++i) {
      for (size_t j = 0; j < terms; ++j) xtx_[i * terms + j] += x_[i] * x_[j];
      xty_[i] += x_[i] * y;
    }
    yty_ += y * y;
    ++n_;
    people_[0].Add(code);
    if (keeping_) {
      if (kept_.size() + terms <= kept_values_) {
        kept_.insert(kept_.end(), x_.begin(), x_.end());
      } else {
        keeping_ = false;
        kept_ = {};
      }
    }
    return absl::OkStatus();
  }

  // x_'s leverage x'(X'X)^-1 x, into the largest.
  void AddLeverage() {
    const size_t terms = plan_.term_names.size();
    double leverage = 0;
    for (size_t i = 0; i < terms; ++i) {
      for (size_t j = 0; j < terms; ++j) leverage += x_[i] * inverse_[i * terms + j] * x_[j];
    }
    max_leverage_ = std::max(max_leverage_, leverage);
  }

  void FitTable(ResultTable& table) const {
    trenode::v1::RegressionResult* result = table.mutable_regression();
    result->set_n(n_);
    for (const std::string& term : plan_.term_names) result->add_terms(term);
    for (double value : xtx_) result->add_xtx(value);
    for (double value : xty_) result->add_xty(value);
    result->set_yty(yty_);
    result->set_residual_degrees_of_freedom(n_ - static_cast<int64_t>(plan_.term_names.size()));
    result->set_max_leverage(max_leverage_);
    const size_t first = plan_.intercept ? 1 : 0;
    for (size_t i = 0; i < values_.size(); ++i) {
      if (values_[i].size() > kFewValues) continue;
      trenode::v1::TermValues* few = result->add_few_valued_terms();
      few->set_term(i == 0 ? "(outcome)" : plan_.term_names[first + i - 1]);
      for (const auto& [value, persons] : values_[i]) {
        few->add_values(value);
        few->add_persons(persons);
      }
    }
  }

  const OutputPlan& plan_;
  const size_t kept_values_;
  bool keeping_ = true;        // every fitted person's x is in kept_ so far
  std::vector<double> kept_;   // their x, one after another
  std::unique_ptr<Grid> grid_;
  std::vector<int> categories_;  // of the current row, reused
  std::vector<CategoryMemo> memos_;  // per group
  // Count-like outputs: per group, its category of each of its joint
  // variable's.
  std::vector<std::vector<int>> coarsening_;
  std::vector<double> inverse_;  // (X'X)^-1 for the leverage pass
  double max_leverage_ = 0;
  std::vector<int64_t> counts_;
  std::vector<SummaryCell> summaries_;
  std::vector<CellPeople> people_;
  // Regression.
  std::vector<double> xtx_, xty_, x_;
  double yty_ = 0;
  int64_t n_ = 0;
  std::vector<std::map<double, int64_t>> values_;  // per predictor, up to kFewValues + 1
};


// The category of a value of `value`'s column as the cohort statement would
// give it; nullopt where it cannot be found without SQLite (an age from a
// value that is not an integer, or whose subtraction overflows).
std::optional<std::optional<int>> CategoryOfStored(const PersonValue& value,
                                                   const StoredValue& stored,
                                                   const Categories& categories) {
  if (std::holds_alternative<std::monostate>(stored)) {
    return std::optional<std::optional<int>>(categories.OfMissing());
  }
  if (value.age_at_year) {
    const int64_t* year = std::get_if<int64_t>(&stored);
    int64_t age;
    if (year == nullptr || __builtin_sub_overflow(*value.age_at_year, *year, &age)) {
      return std::nullopt;
    }
    return std::optional<std::optional<int>>(categories.OfNumber(static_cast<double>(age)));
  }
  if (const int64_t* number = std::get_if<int64_t>(&stored)) {
    return std::optional<std::optional<int>>(categories.OfNumber(static_cast<double>(*number)));
  }
  if (const double* number = std::get_if<double>(&stored)) {
    return std::optional<std::optional<int>>(categories.OfNumber(*number));
  }
  return std::optional<std::optional<int>>(categories.OfText(std::get<std::string>(stored)));
}

absl::Status StepFailed(const absl::Status& status) {
  if (absl::IsCancelled(status)) return status;  // stopped by the caller
  return absl::InternalError(absl::StrCat("reading the dataset failed: ", status.message()));
}

absl::Status NoCode() {
  return absl::InternalError(
      "a person of the dataset file has no code; the node's person codes do not match the "
      "dataset version");
}

// A walk of the person codes in rowid order (no SQLite statement, whose
// steps check it) stops when the connection's stop check says so
// (cancelled, or past its time limit), as a pass would: checked every 64 Ki
// rows.
absl::Status StopCheck(const SqliteDb& dataset, int64_t rowid) {
  constexpr int64_t kRowsBetweenStopChecks = 1 << 16;
  if (rowid % kRowsBetweenStopChecks == 0 && dataset.StopRequested()) {
    return absl::CancelledError("interrupted");
  }
  return absl::OkStatus();
}

absl::Status OutsideCategories() {
  return absl::InternalError(
      "a value is outside the categories recorded for its column at import; the dataset file "
      "does not match its catalogue entry");
}

// The places of a person column's distinct values in a row-major grid
// (category times `stride`; -1 outside the categories), or nullopt if some
// value's category cannot be found without SQLite or the codes lack the
// column (for every row below `rows`).
std::optional<std::pair<const PersonColumns::Column*, std::vector<int64_t>>> PlacesOf(
    const PersonCodes& codes, const std::optional<PersonValue>& value, const Categories& categories,
    int64_t stride, int64_t rows) {
  if (!value) return std::nullopt;
  const PersonColumns::Column* column = codes.columns().Find(value->column);
  if (column == nullptr || static_cast<int64_t>(column->value_of_row.size()) < rows) {
    return std::nullopt;
  }
  std::vector<int64_t> places;
  places.reserve(column->values.size());
  for (const StoredValue& stored : column->values) {
    std::optional<std::optional<int>> category = CategoryOfStored(*value, stored, categories);
    if (!category) return std::nullopt;
    places.push_back(*category ? **category * stride : -1);
  }
  return std::make_pair(column, std::move(places));
}

// Person columns placed in a row-major grid (PlacesOf): a person's cell is
// the sum of their values' places.
struct PlacedColumns {
  std::vector<const PersonColumns::Column*> columns;
  std::vector<std::vector<int64_t>> places;

  // Adds a column; false if PlacesOf could not place it.
  bool Add(std::optional<std::pair<const PersonColumns::Column*, std::vector<int64_t>>> placed) {
    if (!placed) return false;
    columns.push_back(placed->first);
    places.push_back(std::move(placed->second));
    return true;
  }
  // Rowid's cell, or -1 if a value of theirs is outside its categories.
  int64_t CellOf(int64_t rowid) const {
    int64_t cell = 0;
    for (size_t c = 0; c < columns.size(); ++c) {
      int64_t place = places[c][columns[c]->value_of_row[rowid]];
      if (place < 0) return -1;
      cell += place;
    }
    return cell;
  }
};

// The cohort pass of a query whose cohort pass groups by values of the
// person table alone, from the person columns `codes` were read with:
// counts and cross-tabulations (through the joint table), and the persons
// of each cell of summaries whose values come in passes of their own
// (regressions with their own pass take nothing from it). Each distinct
// value is placed in its categories once and each person by lookup: every
// person in rowid order with no cohort criterion, else the rows of the lean
// cohort statement (which selects only rowids), as the cohort pass would
// read them, so every count, cell key and person set is the cohort pass's. False, having
// touched nothing, if the query is not of that kind or the codes lack a
// column it needs.
absl::StatusOr<bool> CountFromColumns(SqliteDb& dataset, const CompiledQuery& query,
                                      const PersonCodes& codes,
                                      std::vector<OutputAccumulator>& outputs,
                                      std::vector<int64_t>& joint_counts, int64_t& cohort) {
  const bool no_cohort_criterion = query.every_person || query.lean_persons_every_rowid;
  if ((!no_cohort_criterion && !query.lean_persons_rowid_only) || query.cohort_count ||
      query.joint_cells <= 0 || joint_counts.size() != static_cast<size_t>(query.joint_cells)) {
    return false;
  }
  const int64_t rows = codes.rowid_end();
  // Per summary with its own pass: its groups' columns, placed in its grid.
  std::vector<std::pair<size_t, PlacedColumns>> summaries;
  for (size_t o = 0; o < query.outputs.size(); ++o) {
    const OutputPlan& plan = query.outputs[o];
    if (plan.kind == trenode::v1::OUTPUT_KIND_COUNTS ||
        plan.kind == trenode::v1::OUTPUT_KIND_CROSSTAB ||
        (plan.kind == trenode::v1::OUTPUT_KIND_REGRESSION && plan.own_pass)) {
      continue;
    }
    if (plan.kind != trenode::v1::OUTPUT_KIND_SUMMARY || !plan.own_pass) return false;
    PlacedColumns groups;
    int64_t stride = plan.cells;
    for (const GroupPlan& group : plan.groups) {
      stride /= static_cast<int64_t>(group.categories.size());
      if (!groups.Add(PlacesOf(codes, group.person_value, group.categories, stride, rows))) {
        return false;
      }
    }
    summaries.emplace_back(o, std::move(groups));
  }
  // The joint variables, placed in the joint grid.
  PlacedColumns variables;
  int64_t stride = query.joint_cells;
  for (const JointVariable& variable : query.joint) {
    stride /= static_cast<int64_t>(variable.categories.size());
    if (!variables.Add(PlacesOf(codes, variable.person_value, variable.categories, stride, rows))) {
      return false;
    }
  }
  std::vector<const Categories*> joint_columns;
  for (const JointVariable& variable : query.joint) joint_columns.push_back(&variable.categories);
  const Grid joint(joint_columns);
  std::vector<std::vector<int64_t>> cells_of_joint(outputs.size());
  for (size_t o = 0; o < outputs.size(); ++o) {
    const trenode::v1::OutputKind kind = query.outputs[o].kind;
    if (kind == trenode::v1::OUTPUT_KIND_COUNTS || kind == trenode::v1::OUTPUT_KIND_CROSSTAB) {
      cells_of_joint[o] = outputs[o].CellsOfJoint(joint);
    }
  }
  // One person of the cohort.
  auto count = [&](int64_t rowid, const PersonCode& code) -> absl::Status {
    const int64_t cell = variables.CellOf(rowid);
    if (cell < 0) return OutsideCategories();
    ++cohort;
    ++joint_counts[cell];
    for (size_t o = 0; o < outputs.size(); ++o) {
      if (!cells_of_joint[o].empty()) outputs[o].AddToCell(cells_of_joint[o][cell], code);
    }
    for (const auto& [output, groups] : summaries) {
      const int64_t summary_cell = groups.CellOf(rowid);
      if (summary_cell < 0) return OutsideCategories();
      outputs[output].AddPersonToCell(summary_cell);
    }
    return absl::OkStatus();
  };
  if (no_cohort_criterion) {
    for (int64_t rowid = 0; rowid < rows; ++rowid) {
      RETURN_IF_ERROR(StopCheck(dataset, rowid));
      std::optional<PersonCode> code = codes.Find(rowid);
      if (!code) continue;
      RETURN_IF_ERROR(count(rowid, *code));
    }
    return true;
  }
  // The cohort's persons from its lean statement, which reads no person
  // columns (every value is in memory); SQLite checks the stop as it steps.
  ASSIGN_OR_RETURN(SqliteStatement persons, Prepare(dataset, query.lean_persons));
  while (true) {
    absl::StatusOr<bool> row = persons.Step();
    if (!row.ok()) return StepFailed(row.status());
    if (!*row) return true;
    const int64_t rowid = persons.Int64(0);
    std::optional<PersonCode> code = codes.Find(rowid);
    if (!code) return NoCode();
    RETURN_IF_ERROR(count(rowid, *code));
  }
}

}  // namespace

absl::StatusOr<QueryOutcome> RunQuery(SqliteDb& dataset, const CompiledQuery& query,
                                      const PersonCodes& codes, const RunLimits& limits) {
  std::vector<OutputAccumulator> outputs;
  outputs.reserve(query.outputs.size());
  size_t regressions = 0;
  for (const OutputPlan& plan : query.outputs) {
    regressions += plan.kind == trenode::v1::OUTPUT_KIND_REGRESSION;
  }
  for (const OutputPlan& plan : query.outputs) {
    outputs.emplace_back(plan, limits.kept_predictor_values / std::max<size_t>(regressions, 1));
    outputs.back().CoarsenFrom(query);
  }
  std::vector<const Categories*> joint_columns;
  for (const JointVariable& variable : query.joint) joint_columns.push_back(&variable.categories);
  Grid joint(joint_columns);
  std::vector<int64_t> joint_counts(query.joint_cells > 0 ? query.joint_cells : 0, 0);
  int64_t cohort = 0;
  int64_t rows_read = 0;
  std::vector<int> categories(query.joint.size());
  std::vector<CategoryMemo> joint_memos;
  joint_memos.reserve(query.joint.size());
  for (const JointVariable& variable : query.joint) joint_memos.emplace_back(variable.categories);
  // The cohort pass, unless the person columns answer it.
  ASSIGN_OR_RETURN(bool counted, CountFromColumns(dataset, query, codes, outputs, joint_counts, cohort));
  if (counted) rows_read = cohort;  // metered as the pass it stands for
  // With every derived column's person column in memory, the passes read
  // those columns from there (their lean statements), not the person rows.
  std::optional<DerivedValues> derived;
  if ((!query.cohort_count && !counted) || !query.value_passes.empty()) {
    ASSIGN_OR_RETURN(derived,
                     DerivedValues::Evaluate(query.derived, codes.columns(), codes.rowid_end()));
  }
  std::vector<const StoredValue*> overlay(derived ? derived->slots() : 0, nullptr);
  auto row_of = [&](const SqliteStatement& statement, int64_t rowid) {
    if (derived) derived->Fill(rowid, overlay);
    return PassRow(&statement, &overlay);
  };
  // Calls `each` with every row of the cohort pass: from the file, or, when
  // every person is in it and every value is in memory, the codes' rowids in
  // order, stopped (cancelled, or past its time limit) as the pass would be.
  const bool cohort_pass = !query.cohort_count && !counted;
  const bool cohort_in_memory = cohort_pass && derived && query.lean_persons_every_rowid;
  std::optional<SqliteStatement> statement;
  if (cohort_pass && !cohort_in_memory) {
    ASSIGN_OR_RETURN(statement, Prepare(dataset, derived ? query.lean_persons : query.persons));
  }
  auto each_cohort_row = [&](auto each) -> absl::Status {
    if (cohort_in_memory) {
      for (int64_t rowid = 0; rowid < codes.rowid_end(); ++rowid) {
        RETURN_IF_ERROR(StopCheck(dataset, rowid));
        std::optional<PersonCode> code = codes.Find(rowid);
        if (!code) continue;
        ++rows_read;
        derived->Fill(rowid, overlay);
        RETURN_IF_ERROR(each(PassRow(nullptr, &overlay), *code));
      }
      return absl::OkStatus();
    }
    statement->Rewind();
    while (true) {
      absl::StatusOr<bool> row = statement->Step();
      if (!row.ok()) return StepFailed(row.status());
      if (!*row) return absl::OkStatus();
      ++rows_read;
      const int64_t rowid = statement->Int64(0);
      std::optional<PersonCode> code = codes.Find(rowid);
      if (!code) return NoCode();
      RETURN_IF_ERROR(each(row_of(*statement, rowid), *code));
    }
  };
  if (cohort_pass) {
    RETURN_IF_ERROR(each_cohort_row([&](const PassRow& values, const PersonCode& code) {
      ++cohort;
      for (size_t v = 0; v < query.joint.size(); ++v) {
        ASSIGN_OR_RETURN(categories[v], CategoryOf(values, query.joint[v].column, joint_memos[v]));
      }
      for (OutputAccumulator& output : outputs) {
        RETURN_IF_ERROR(output.Add(values, code, /*values=*/false, categories));
      }
      if (!joint_counts.empty()) ++joint_counts[joint.IndexOf(categories)];
      return absl::OkStatus();
    }));
  }
  // Each output with its own pass: its persons with values, from its
  // statement, or, reading one MIN or MAX feature alone, from the feature's
  // rows reduced here.
  struct OwnPass {
    std::optional<SqliteStatement> statement;
    std::optional<LoneFeatureReader> lone;
    std::vector<int> lone_columns;
    std::vector<const StoredValue*> lone_overlay;  // the derived and lone columns
  };
  std::vector<OwnPass> passes;
  // Calls `each` with every row of `own` (from its start) and its rowid.
  auto each_own_row = [&](OwnPass& own, auto each) -> absl::Status {
    if (own.lone) {
      own.lone->Rewind();
      while (true) {
        absl::StatusOr<bool> person = own.lone->Next();
        if (!person.ok()) return StepFailed(person.status());
        if (!*person) return absl::OkStatus();
        const int64_t rowid = own.lone->rowid();
        derived->Fill(rowid, own.lone_overlay);
        for (int column : own.lone_columns) own.lone_overlay[column] = &own.lone->value();
        RETURN_IF_ERROR(each(PassRow(nullptr, &own.lone_overlay), rowid));
      }
    }
    own.statement->Rewind();  // the same persons and variables: the bindings stay
    while (true) {
      absl::StatusOr<bool> row = own.statement->Step();
      if (!row.ok()) return StepFailed(row.status());
      if (!*row) return absl::OkStatus();
      const int64_t rowid = own.statement->Int64(0);
      RETURN_IF_ERROR(each(row_of(*own.statement, rowid), rowid));
    }
  };
  for (const ValuePass& pass : query.value_passes) {
    OwnPass own;
    if (derived && pass.lone) {
      ASSIGN_OR_RETURN(SqliteStatement rows, Prepare(dataset, pass.lone->rows));
      own.lone.emplace(std::move(rows), pass.lone->max);
      own.lone_columns = pass.lone->value_columns;
      own.lone_overlay.assign(overlay.size(), nullptr);
      for (int column : own.lone_columns) {
        if (static_cast<size_t>(column) >= own.lone_overlay.size()) {
          own.lone_overlay.resize(static_cast<size_t>(column) + 1, nullptr);
        }
      }
    } else {
      ASSIGN_OR_RETURN(own.statement, Prepare(dataset, derived ? pass.lean : pass.statement));
    }
    OutputAccumulator& output = outputs[pass.output];
    RETURN_IF_ERROR(each_own_row(own, [&](const PassRow& values, int64_t rowid) -> absl::Status {
      ++rows_read;
      std::optional<PersonCode> code = codes.Find(rowid);
      if (!code) return NoCode();
      return output.Add(values, *code, /*values=*/true, categories);
    }));
    passes.push_back(std::move(own));
  }
  // Regressions with more persons than they could keep need a second pass
  // (their own, or the cohort's) for their persons' leverage.
  bool cohort_again = false;
  for (size_t o = 0; o < outputs.size(); ++o) {
    if (!outputs[o].MeasureLeverage()) continue;
    if (!query.outputs[o].own_pass) {
      cohort_again = true;
      continue;
    }
    for (size_t p = 0; p < passes.size(); ++p) {
      if (query.value_passes[p].output != static_cast<int>(o)) continue;
      RETURN_IF_ERROR(
          each_own_row(passes[p], [&](const PassRow& values, int64_t rowid) -> absl::Status {
            ++rows_read;
            if (!codes.Find(rowid)) return NoCode();
            outputs[o].AddLeverage(values);
            return absl::OkStatus();
          }));
    }
  }
  if (cohort_again && cohort_pass) {
    RETURN_IF_ERROR(each_cohort_row([&](const PassRow& values, const PersonCode&) {
      for (size_t o = 0; o < outputs.size(); ++o) {
        if (!query.outputs[o].own_pass) outputs[o].AddLeverage(values);
      }
      return absl::OkStatus();
    }));
  }
  if (query.cohort_count) {
    ASSIGN_OR_RETURN(SqliteStatement count, Prepare(dataset, *query.cohort_count));
    absl::StatusOr<bool> row = count.Step();
    if (!row.ok() || !*row) {
      if (!row.ok() && absl::IsCancelled(row.status())) return row.status();
      return absl::InternalError("counting the cohort failed");
    }
    cohort = count.Int64(0);
    // Regressions alone have no joint variables: the joint table is one
    // cell, the cohort.
    if (query.joint.empty() && joint_counts.size() == 1) joint_counts[0] = cohort;
  }
  QueryOutcome outcome;
  outcome.rows_read = rows_read;
  outcome.result.set_cohort_size(cohort);
  for (OutputAccumulator& output : outputs) {
    *outcome.result.add_tables() = output.Table();
    *outcome.internals.add_outputs() = output.Internals(query);
  }
  trenode::internal::JointTable* table = outcome.internals.mutable_joint();
  for (const JointVariable& variable : query.joint) {
    auto* labels = table->add_variables();
    for (const std::string& label : variable.categories.labels()) labels->add_labels(label);
  }
  for (int64_t count : joint_counts) table->add_counts(count);
  return outcome;
}

absl::StatusOr<bool> FileHasPersonRowids(SqliteDb& file, const trenode::v1::Dataset& dataset) {
  const std::string person_table =
      dataset.person_table().empty() ? "person" : dataset.person_table();
  for (const trenode::v1::Table& table : dataset.tables()) {
    if (table.name() == person_table) continue;
    bool keyed = false;
    for (const trenode::v1::Column& column : table.columns()) keyed |= column.is_person_key();
    if (!keyed) continue;
    ASSIGN_OR_RETURN(SqliteStatement column,
                     file.Prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2"));
    column.Bind(1, table.name()).Bind(2, std::string(catalogue::kPersonRowidColumn));
    ASSIGN_OR_RETURN(bool found, column.Step());
    if (!found) return false;
  }
  return true;
}

}  // namespace trenode::query
