#include "node/query/compiler.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "node/catalogue/dataset_validation.h"
#include "node/catalogue/person_rowid_column.h"
#include "node/common/dates.h"
#include "node/common/deterministic_bytes.h"
#include "node/common/status_macros.h"

namespace trenode::query {
namespace {
using trenode::v1::AggregateQuery;
using trenode::v1::Column;
using trenode::v1::ColumnType;
using trenode::v1::Comparison;
using trenode::v1::Criterion;
using trenode::v1::Dataset;
using trenode::v1::EventFilter;
using trenode::v1::GroupBy;
using trenode::v1::Table;
using trenode::v1::Variable;

constexpr int kMaxCriterionDepth = 16;
constexpr int kMaxCriterionNodes = 256;
constexpr int kMaxValues = 1000;
constexpr int kMaxBins = 100;
// Event features beyond this many are looked up per person: SQLite joins at
// most 64 tables in one statement.
constexpr size_t kMaxJoinedFeatures = 48;

enum class VarType { kInteger, kReal, kText, kDate, kIndicator };

bool IsNumeric(VarType type) { return type != VarType::kText && type != VarType::kDate; }

// The rows of an event table that count for the person `p`.
struct FilterSql {
  std::string from;  // "FROM <table> AS <alias> WHERE <alias>.<key> = p.<key> AND ..."
  const Table* table;
  std::string alias;
  // The same rows of every person at once, for set-based plans:
  // "FROM <table> AS <alias> [WHERE ...]", and the key column "<alias>.<key>".
  std::string set_from;
  std::string key;
  bool set_filtered = false;  // set_from has a WHERE
};

// The smallest string greater than every string that starts with `prefix`
// (bytewise, as SQLite's BINARY collation compares), or nullopt if there is
// none (the prefix is all 0xFF bytes).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// A compiled per-person expression over the person table aliased `p`.
struct Expr {
  std::string sql;
  VarType type;
  std::string name;
  // Whether a person can have no value.
  bool may_be_missing = true;
  // The person-table column it reads as it is, if any (for its categories).
  const Column* column = nullptr;
  // A condition on `p` that holds for every person with a value (and for
  // few others), answered through indexes; empty if none is known.
  std::string present;
  // Set if the value is read from the person table alone.
  std::optional<PersonValue> person_value;
};

// `parts` joined by `op` ("AND", "OR") as a balanced tree of parentheses, so
// that SQLite's expression depth grows with log2 of the count, never past its
// limit of 1,000 (a flat "a OR b OR ..." nests one level per term).
std::string Balanced(const std::vector<std::string>& parts, absl::string_view op, size_t begin,
                     size_t end) {
  if (end - begin == 1) return parts[begin];
  size_t middle = begin + (end - begin) / 2;
  return absl::StrCat("(", Balanced(parts, op, begin, middle), " ", op, " ",
                      Balanced(parts, op, middle, end), ")");
}

std::string Balanced(const std::vector<std::string>& parts, absl::string_view op) {
  return Balanced(parts, op, 0, parts.size());
}

std::string Quote(absl::string_view name) {
  return absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
}

absl::Status Invalid(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

const char* ComparisonSql(Comparison comparison) {
  switch (comparison) {
    case trenode::v1::COMPARISON_EQ:
      return "=";
    case trenode::v1::COMPARISON_NE:
      return "<>";
    case trenode::v1::COMPARISON_LT:
      return "<";
    case trenode::v1::COMPARISON_LE:
      return "<=";
    case trenode::v1::COMPARISON_GT:
      return ">";
    case trenode::v1::COMPARISON_GE:
      return ">=";
    default:
      return nullptr;
  }
}

// Compiles the parts of one statement; its parameters are numbered in the
// order they are added.
class StatementCompiler {
 public:
  StatementCompiler(const Dataset& dataset, const Table& person, std::string person_key,
                    const std::string& index_date, std::set<std::string>* tables, PlanShape shape,
                    bool person_rowids)
      : shape_(shape),
        person_rowids_(person_rowids),
        tables_(tables),
        dataset_(dataset),
        person_(person),
        person_key_(std::move(person_key)),
        index_date_(index_date) {}

  template <typename T>
  std::string Param(T value) {
    params_.emplace_back(std::in_place_type<T>, std::move(value));
    return absl::StrCat("?", params_.size());
  }
  size_t param_count() const { return params_.size(); }
  // Forgets the parameters added since param_count() was `mark`: for an
  // expression compiled again only to learn its type.
  void Rollback(size_t mark) { params_.resize(mark); }
  std::vector<SqlParam> TakeParams() { return std::move(params_); }
  // The pre-grouped event features, for the statement's FROM: join i is
  // "(SELECT ...) AS f<i+1> ON f<i+1>.k = p.<key>", to follow "LEFT JOIN"
  // (every person) or "JOIN" (persons the feature has a row for).
  const std::vector<std::string>& joins() const { return joins_; }
  // Join i without its ON clause: "(SELECT ... ) AS f<i+1>".
  const std::string& joined_values(size_t i) const { return joined_values_[i]; }
  // Join i's rows ungrouped (LoneFeature::rows, empty unless its feature is
  // a MIN or MAX over events with person rowids), and whether it is a MAX.
  const std::pair<std::string, bool>& ungrouped(size_t i) const { return ungrouped_[i]; }
  bool person_rowids() const { return person_rowids_; }

  // What the expressions compiled since the last call read: the person
  // table's columns, and whether anything else (an event table).
  struct Reads {
    std::set<const Column*> person_columns;
    bool events = false;
  };
  Reads TakeReads() { return std::exchange(reads_, {}); }

  absl::StatusOr<Expr> CompileVariable(const Variable& variable, const std::string& path) {
    switch (variable.kind_case()) {
      case Variable::kColumn: {
        ASSIGN_OR_RETURN(const Column* column,
                         PersonColumn(variable.column(), absl::StrCat(path, ".column")));
        return Expr{absl::StrCat("p.", Quote(column->name())), TypeOf(*column), column->name(),
                    column->has_missing(), column, "", PersonValue{column->name(), std::nullopt}};
      }
      case Variable::kAge:
        return CompileAge(variable.age(), absl::StrCat(path, ".age"));
      case Variable::kEventFeature:
        return CompileFeature(variable.event_feature(), absl::StrCat(path, ".event_feature"));
      case Variable::kIndicator: {
        ASSIGN_OR_RETURN(std::string condition,
                         CompileCriterion(variable.indicator(), absl::StrCat(path, ".indicator")));
        return Expr{absl::StrCat("(CASE WHEN ", condition, " THEN 1 ELSE 0 END)"),
                    VarType::kIndicator, "indicator", false};
      }
      case Variable::KIND_NOT_SET:
        break;
    }
    return Invalid(path, "choose column, age, event_feature or indicator");
  }

  // A conjunct of the cohort criterion: its SQL and, if it is the set of
  // persons with some events (min_count at most 1), those events' rows.
  struct Conjunct {
    std::string sql;
    std::optional<FilterSql> events;
  };

  // `conjuncts`, if given, gets the criterion's conjuncts: each criterion of
  // a top-level all_of, or the criterion itself.
  absl::StatusOr<std::string> CompileCriterion(const Criterion& criterion, const std::string& path,
                                               int depth = 0,
                                               std::vector<Conjunct>* conjuncts = nullptr) {
    if (depth > kMaxCriterionDepth) {
      return Invalid(path, absl::StrCat("criteria nest deeper than ", kMaxCriterionDepth));
    }
    if (++criterion_nodes_ > kMaxCriterionNodes) {
      return Invalid(path, absl::StrCat("more than ", kMaxCriterionNodes, " criteria"));
    }
    switch (criterion.kind_case()) {
      case Criterion::kAllOf:
      case Criterion::kAnyOf: {
        bool all = criterion.kind_case() == Criterion::kAllOf;
        const auto& list = all ? criterion.all_of() : criterion.any_of();
        std::string field = absl::StrCat(path, all ? ".all_of" : ".any_of");
        if (list.criteria().empty()) return Invalid(field, "needs at least one criterion");
        std::vector<std::string> parts;
        for (int i = 0; i < list.criteria_size(); ++i) {
          std::vector<Conjunct> one;
          ASSIGN_OR_RETURN(
              std::string part,
              CompileCriterion(list.criteria(i), absl::StrCat(field, ".criteria[", i, "]"),
                               depth + 1, all && conjuncts != nullptr ? &one : nullptr));
          parts.push_back(std::move(part));
          if (all && conjuncts != nullptr) {
            conjuncts->push_back({parts.back(), one.size() == 1 ? one[0].events : std::nullopt});
          }
        }
        if (!all && conjuncts != nullptr) conjuncts->push_back({Balanced(parts, "OR"), {}});
        return Balanced(parts, all ? "AND" : "OR");
      }
      case Criterion::kNoneOf: {
        ASSIGN_OR_RETURN(
            std::string inner,
            CompileCriterion(criterion.none_of(), absl::StrCat(path, ".none_of"), depth + 1));
        // A person with no value is not excluded by NOT (comparison with NULL).
        std::string sql = absl::StrCat("(NOT coalesce(", inner, ", 0))");
        if (conjuncts != nullptr) conjuncts->push_back({sql, {}});
        return sql;
      }
      case Criterion::kPerson: {
        ASSIGN_OR_RETURN(std::string sql,
                         CompilePersonCriterion(criterion.person(), absl::StrCat(path, ".person")));
        if (conjuncts != nullptr) conjuncts->push_back({sql, {}});
        return sql;
      }
      case Criterion::kEvents: {
        std::optional<FilterSql> rows;
        ASSIGN_OR_RETURN(std::string sql,
                         CompileEventCriterion(criterion.events(), absl::StrCat(path, ".events"),
                                               conjuncts != nullptr ? &rows : nullptr));
        if (conjuncts != nullptr) conjuncts->push_back({sql, std::move(rows)});
        return sql;
      }
      case Criterion::KIND_NOT_SET:
        break;
    }
    return Invalid(path, "choose all_of, any_of, none_of, person or events");
  }

  // The variable of a group column and the categories its values fall into.
  absl::StatusOr<std::pair<Expr, Categories>> CompileGroup(const GroupBy& group,
                                                           const std::string& path,
                                                           const CompileLimits& limits) {
    ASSIGN_OR_RETURN(Expr expr, CompileVariable(group.variable(), absl::StrCat(path, ".variable")));
    const auto& boundaries = group.binning().boundaries();
    if (expr.type == VarType::kDate) {
      return Invalid(path, absl::StrCat("grouping by the date ", expr.name,
                                        " would return row-level dates; group by a coarser "
                                        "variable instead"));
    }
    if (boundaries.empty()) {
      if (expr.type == VarType::kIndicator) return std::make_pair(expr, Categories::Indicator());
      if (expr.type != VarType::kText) {
        return Invalid(path, absl::StrCat(expr.name,
                                          " is a number: grouping by its values would list "
                                          "each one; give binning.boundaries"));
      }
      const Column* column = expr.column;
      if (column == nullptr || (column->categories().empty() && !column->has_rare_values())) {
        return Invalid(path, absl::StrCat(expr.name,
                                          " has no recorded set of values (it has too many to "
                                          "group by); group by another column or an indicator"));
      }
      if (column->categories_size() > limits.max_categories) {
        return Invalid(
            path, absl::StrCat(expr.name, " has ", column->categories_size(),
                               " values, more than this node's limit of ", limits.max_categories,
                               " categories (compute.query_max_categories); group by "
                               "a coarser column or an indicator"));
      }
      for (const std::string& value : column->categories()) {
        if (value == kMissingLabel || value == kTotalLabel || value == kOtherLabel) {
          return Invalid(path,
                         absl::StrCat(expr.name, " holds the value \"", value, "\", which labels ",
                                      value == kTotalLabel   ? "totals"
                                      : value == kOtherLabel ? "rare values"
                                                             : "missing values",
                                      " in results; it cannot be grouped by"));
        }
      }
      std::vector<std::string> values(column->categories().begin(), column->categories().end());
      return std::make_pair(expr, Categories::Listed(std::move(values), expr.may_be_missing,
                                                     column->has_rare_values()));
    }
    if (expr.type == VarType::kText || expr.type == VarType::kIndicator) {
      return Invalid(absl::StrCat(path, ".binning"),
                     absl::StrCat(expr.name, " is not a number and cannot be binned"));
    }
    if (boundaries.size() > kMaxBins) {
      return Invalid(absl::StrCat(path, ".binning"), absl::StrCat("at most ", kMaxBins, " bins"));
    }
    for (int i = 0; i < boundaries.size(); ++i) {
      if (!std::isfinite(boundaries[i]) || (i > 0 && boundaries[i] <= boundaries[i - 1])) {
        return Invalid(absl::StrCat(path, ".binning.boundaries"),
                       "boundaries must be finite and strictly increasing");
      }
    }
    return std::make_pair(
        expr, Categories::Binned({boundaries.begin(), boundaries.end()}, expr.may_be_missing));
  }

 private:
  static VarType TypeOf(const Column& column) {
    switch (column.type()) {
      case trenode::v1::COLUMN_TYPE_INTEGER:
        return VarType::kInteger;
      case trenode::v1::COLUMN_TYPE_REAL:
        return VarType::kReal;
      case trenode::v1::COLUMN_TYPE_DATE:
        return VarType::kDate;
      default:
        return VarType::kText;
    }
  }

  const Table* FindTable(absl::string_view name) const {
    for (const Table& table : dataset_.tables()) {
      if (table.name() == name) return &table;
    }
    return nullptr;
  }

  static absl::StatusOr<const Column*> FindColumn(const Table& table, absl::string_view name,
                                                  const std::string& path) {
    if (name.empty()) return Invalid(path, "is required");
    for (const Column& column : table.columns()) {
      if (column.name() != name) continue;
      if (column.is_person_key()) {
        return Invalid(path, absl::StrCat(name,
                                          " is a person identifier: queries cannot use "
                                          "identifiers"));
      }
      return &column;
    }
    return Invalid(path, absl::StrCat("table ", table.name(), " has no column \"", name, "\""));
  }

  absl::StatusOr<const Column*> PersonColumn(absl::string_view name, const std::string& path) {
    ASSIGN_OR_RETURN(const Column* column, FindColumn(person_, name, path));
    reads_.person_columns.insert(column);
    return column;
  }

  absl::StatusOr<Expr> CompileAge(const trenode::v1::AgeVariable& age, const std::string& path) {
    ASSIGN_OR_RETURN(const Column* birth,
                     PersonColumn(age.birth_column(), absl::StrCat(path, ".birth_column")));
    if (index_date_.empty()) return Invalid("index_date", "is required when ages are used");
    std::string column = absl::StrCat("p.", Quote(birth->name()));
    if (birth->type() == trenode::v1::COLUMN_TYPE_INTEGER) {
      int64_t year = std::stoll(index_date_.substr(0, 4));
      return Expr{absl::StrCat("(", Param(year), " - ", column, ")"), VarType::kInteger, "age",
                  birth->has_missing(), nullptr, "", PersonValue{birth->name(), year}};
    }
    if (birth->type() == trenode::v1::COLUMN_TYPE_DATE) {
      std::string index = Param(index_date_);
      return Expr{
          absl::StrCat("(CAST(substr(", index, ", 1, 4) AS INTEGER) - CAST(substr(", column,
                       ", 1, 4) AS INTEGER) - (substr(", index, ", 6) < substr(", column, ", 6)))"),
          VarType::kInteger, "age", birth->has_missing()};
    }
    return Invalid(absl::StrCat(path, ".birth_column"),
                   absl::StrCat(birth->name(), " is neither an INTEGER year nor a DATE"));
  }

  absl::StatusOr<FilterSql> CompileFilter(const EventFilter& filter, const std::string& path) {
    if (filter.table().empty()) return Invalid(absl::StrCat(path, ".table"), "is required");
    const Table* table = FindTable(filter.table());
    if (table == nullptr) {
      return Invalid(
          absl::StrCat(path, ".table"),
          absl::StrCat("dataset ", dataset_.id(), " has no table \"", filter.table(), "\""));
    }
    if (table == &person_) {
      return Invalid(absl::StrCat(path, ".table"),
                     "is the person table; use a person criterion or variable instead");
    }
    const Column* key = nullptr;
    for (const Column& column : table->columns()) {
      if (column.is_person_key()) key = &column;
    }
    if (key == nullptr) {
      return Invalid(absl::StrCat(path, ".table"),
                     absl::StrCat(table->name(), " has no person key to link it to persons"));
    }
    tables_->insert(table->name());
    std::string alias = absl::StrCat("e", ++aliases_);
    // An event's person: its person rowid column where the file has one
    // (an integer, which the table's indexes lead with), else its key.
    const std::string key_column =
        person_rowids_ ? absl::StrCat(alias, ".", Quote(catalogue::kPersonRowidColumn))
                       : absl::StrCat(alias, ".", Quote(key->name()));
    std::vector<std::string> conditions;
    bool has_codes = !filter.code_prefixes().empty() || !filter.codes().empty();
    if (has_codes || !filter.code_column().empty()) {
      std::string field = absl::StrCat(path, ".code_column");
      ASSIGN_OR_RETURN(const Column* code, FindColumn(*table, filter.code_column(), field));
      if (code->type() != trenode::v1::COLUMN_TYPE_TEXT) {
        return Invalid(field, absl::StrCat(code->name(), " is not a TEXT column of codes"));
      }
      if (!has_codes) return Invalid(path, "give code_prefixes or codes with code_column");
      if (filter.code_prefixes_size() + filter.codes_size() > kMaxValues) {
        return Invalid(path, absl::StrCat("at most ", kMaxValues, " codes and prefixes"));
      }
      std::string column = absl::StrCat(alias, ".", Quote(code->name()));
      std::vector<std::string> matches;
      for (const std::string& prefix : filter.code_prefixes()) {
        if (prefix.empty()) return Invalid(absl::StrCat(path, ".code_prefixes"), "empty prefix");
        if (shape_ == PlanShape::kCorrelated) {
          matches.push_back(absl::StrCat("substr(", column, ", 1, ",
                                         Param(static_cast<int64_t>(prefix.size())),
                                         ") = ", Param(prefix)));
          continue;
        }
        // A range, which an index on the column serves.
        std::optional<std::string> after = PrefixSuccessor(prefix);
        std::string range = absl::StrCat(column, " >= ", Param(prefix));
        if (after) absl::StrAppend(&range, " AND ", column, " < ", Param(*after));
        matches.push_back(absl::StrCat("(", range, ")"));
      }
      if (!filter.codes().empty()) {
        std::vector<std::string> codes;
        for (const std::string& value : filter.codes()) codes.push_back(Param(value));
        matches.push_back(absl::StrCat(column, " IN (", absl::StrJoin(codes, ", "), ")"));
      }
      conditions.push_back(Balanced(matches, "OR"));
    }
    if (!filter.value_column().empty()) {
      std::string field = absl::StrCat(path, ".value_column");
      ASSIGN_OR_RETURN(const Column* value, FindColumn(*table, filter.value_column(), field));
      if (!IsNumeric(TypeOf(*value))) {
        return Invalid(field, absl::StrCat(value->name(), " is not a number"));
      }
      const char* op = ComparisonSql(filter.value_comparison());
      if (op == nullptr) {
        return Invalid(absl::StrCat(path, ".value_comparison"), "choose EQ, NE, LT, LE, GT or GE");
      }
      if (!std::isfinite(filter.value()))
        return Invalid(absl::StrCat(path, ".value"), "not finite");
      conditions.push_back(
          absl::StrCat(alias, ".", Quote(value->name()), " ", op, " ", Param(filter.value())));
    } else if (filter.value_comparison() != trenode::v1::COMPARISON_UNSPECIFIED) {
      return Invalid(absl::StrCat(path, ".value_column"), "is required with value_comparison");
    }
    if (!filter.date_column().empty() || !filter.date_from().empty() || !filter.date_to().empty()) {
      std::string field = absl::StrCat(path, ".date_column");
      ASSIGN_OR_RETURN(const Column* date, FindColumn(*table, filter.date_column(), field));
      if (date->type() != trenode::v1::COLUMN_TYPE_DATE) {
        return Invalid(field, absl::StrCat(date->name(), " is not a DATE column"));
      }
      if (filter.date_from().empty() && filter.date_to().empty()) {
        return Invalid(path, "give date_from and/or date_to with date_column");
      }
      std::string column = absl::StrCat(alias, ".", Quote(date->name()));
      if (!filter.date_from().empty()) {
        RETURN_IF_ERROR(ValidateDate(filter.date_from(), absl::StrCat(path, ".date_from")));
        conditions.push_back(absl::StrCat(column, " >= ", Param(filter.date_from())));
      }
      if (!filter.date_to().empty()) {
        RETURN_IF_ERROR(ValidateDate(filter.date_to(), absl::StrCat(path, ".date_to")));
        conditions.push_back(absl::StrCat(column, " <= ", Param(filter.date_to())));
      }
    }
    const std::string table_sql = absl::StrCat("FROM ", Quote(table->name()), " AS ", alias);
    std::vector<std::string> correlated = {absl::StrCat(key_column, " = ", PersonOfEvents())};
    correlated.insert(correlated.end(), conditions.begin(), conditions.end());
    FilterSql compiled{absl::StrCat(table_sql, " WHERE ", absl::StrJoin(correlated, " AND ")),
                       table, alias, table_sql, key_column};
    if (!conditions.empty()) {
      absl::StrAppend(&compiled.set_from, " WHERE ", absl::StrJoin(conditions, " AND "));
      compiled.set_filtered = true;
    }
    return compiled;
  }

  absl::StatusOr<Expr> CompileFeature(const trenode::v1::EventFeature& feature,
                                      const std::string& path) {
    reads_.events = true;
    std::string key = DeterministicBytes(feature);
    if (auto known = features_.find(key); known != features_.end()) return known->second;
    ASSIGN_OR_RETURN(FilterSql filter,
                     CompileFilter(feature.filter(), absl::StrCat(path, ".filter")));
    const Table* table = filter.table;
    std::string field = absl::StrCat(path, ".value_column");
    Expr expr;
    std::string aggregate;  // over the filter's rows of one person
    std::string value_sql_of_rows;  // the value column, unless COUNT
    if (feature.aggregate() == trenode::v1::FEATURE_AGGREGATE_COUNT) {
      if (!feature.value_column().empty()) return Invalid(field, "is not used with COUNT");
      aggregate = "COUNT(*)";
      expr = Expr{"", VarType::kInteger, absl::StrCat("count_", table->name()), false};
    } else {
      const char* function = nullptr;
      const char* prefix = nullptr;
      switch (feature.aggregate()) {
        case trenode::v1::FEATURE_AGGREGATE_MIN:
          function = "MIN", prefix = "min_";
          break;
        case trenode::v1::FEATURE_AGGREGATE_MAX:
          function = "MAX", prefix = "max_";
          break;
        case trenode::v1::FEATURE_AGGREGATE_MEAN:
          function = "AVG", prefix = "mean_";
          break;
        default:
          return Invalid(absl::StrCat(path, ".aggregate"), "choose COUNT, MIN, MAX or MEAN");
      }
      ASSIGN_OR_RETURN(const Column* value, FindColumn(*table, feature.value_column(), field));
      VarType type = TypeOf(*value);
      if (!IsNumeric(type)) return Invalid(field, absl::StrCat(value->name(), " is not a number"));
      if (feature.aggregate() == trenode::v1::FEATURE_AGGREGATE_MEAN) type = VarType::kReal;
      const std::string value_sql = absl::StrCat(filter.alias, ".", Quote(value->name()));
      value_sql_of_rows = value_sql;
      aggregate = absl::StrCat(function, "(", value_sql, ")");
      expr = Expr{"", type, absl::StrCat(prefix, table->name(), "_", value->name())};
      // Persons with a value: those with a matching event with a value.
      expr.present =
          absl::StrCat("(", PersonOfEvents(), " IN (SELECT ", filter.key, " ", filter.set_from,
                       filter.set_filtered ? " AND " : " WHERE ", value_sql, " IS NOT NULL))");
    }
    const bool value_feature = feature.aggregate() != trenode::v1::FEATURE_AGGREGATE_COUNT;
    if (shape_ == PlanShape::kCorrelated || joins_.size() >= kMaxJoinedFeatures) {
      // A lookup per person, through the (person key, code, value, date)
      // index.
      expr.sql = absl::StrCat("(SELECT ", aggregate, " ", filter.from, ")");
    } else {
      // Pre-grouped: every person's value found in one pass over the
      // table's matching rows (through the covering code index; "+key"
      // keeps the person-key index out of the grouping, which would read
      // every row of the table), joined to the persons. At 10 M persons
      // this is 2.7 times faster than a lookup per person, whose index no
      // longer fits in memory; the grouping and the join's index spill to
      // temporary files beyond the page cache, so memory stays bounded.
      std::string alias = absl::StrCat("f", joins_.size() + 1);
      // With person rowids, the code index (code, person, value, date)
      // gives the rows already grouped by person: no sort.
      joined_values_.push_back(absl::StrCat("(SELECT ", filter.key, " AS k, ", aggregate, " AS v ",
                                            filter.set_from, " GROUP BY ",
                                            person_rowids_ ? "" : "+", filter.key, ") AS ", alias));
      joins_.push_back(
          absl::StrCat(joined_values_.back(), " ON ", alias, ".k = ", PersonOfEvents()));
      // MIN and MAX are reduced exactly by the runner from the rows in any
      // order; ORDER BY is free when the code index gives them by person.
      const bool extreme = feature.aggregate() == trenode::v1::FEATURE_AGGREGATE_MIN ||
                           feature.aggregate() == trenode::v1::FEATURE_AGGREGATE_MAX;
      ungrouped_.emplace_back(
          person_rowids_ && extreme
              ? absl::StrCat("SELECT ", filter.key, ", ", value_sql_of_rows, " ", filter.set_from,
                             filter.set_filtered ? " AND " : " WHERE ", value_sql_of_rows,
                             " IS NOT NULL ORDER BY ", filter.key)
              : "",
          feature.aggregate() == trenode::v1::FEATURE_AGGREGATE_MAX);
      // Persons with a value are those the join finds with one: a pass over
      // them alone joins from the pre-grouped values to the persons (an
      // inner join), reading the events once.
      if (value_feature) expr.present = absl::StrCat("(", alias, ".v IS NOT NULL)");
      // A person with no such events is not in the join: no value, or a
      // count of 0.
      expr.sql = feature.aggregate() == trenode::v1::FEATURE_AGGREGATE_COUNT
                     ? absl::StrCat("coalesce(", alias, ".v, 0)")
                     : absl::StrCat(alias, ".v");
    }
    features_.emplace(std::move(key), expr);
    return expr;
  }

  absl::StatusOr<std::string> CompilePersonCriterion(const trenode::v1::PersonCriterion& person,
                                                     const std::string& path) {
    ASSIGN_OR_RETURN(Expr expr,
                     CompileVariable(person.variable(), absl::StrCat(path, ".variable")));
    std::string values_path = absl::StrCat(path, ".values");
    std::vector<std::string> bound;
    for (int i = 0; i < person.values_size(); ++i) {
      const trenode::v1::Value& value = person.values(i);
      std::string field = absl::StrCat(values_path, "[", i, "]");
      if (IsNumeric(expr.type)) {
        if (value.kind_case() != trenode::v1::Value::kNumber || !std::isfinite(value.number())) {
          return Invalid(field, absl::StrCat(expr.name, " is a number; give a finite number"));
        }
        bound.push_back(Param(value.number()));
      } else {
        if (value.kind_case() != trenode::v1::Value::kText) {
          return Invalid(
              field, absl::StrCat(expr.name, " is ",
                                  expr.type == VarType::kDate ? "a date" : "text", "; give text"));
        }
        if (expr.type == VarType::kDate) RETURN_IF_ERROR(ValidateDate(value.text(), field));
        bound.push_back(Param(value.text()));
      }
    }
    if (person.comparison() == trenode::v1::COMPARISON_IN) {
      if (bound.empty() || bound.size() > kMaxValues) {
        return Invalid(values_path, absl::StrCat("IN needs 1 to ", kMaxValues, " values"));
      }
      return absl::StrCat("(", expr.sql, " IN (", absl::StrJoin(bound, ", "), "))");
    }
    const char* op = ComparisonSql(person.comparison());
    if (op == nullptr) {
      return Invalid(absl::StrCat(path, ".comparison"), "choose EQ, NE, LT, LE, GT, GE or IN");
    }
    if (bound.size() != 1) return Invalid(values_path, "give exactly one value");
    return absl::StrCat("(", expr.sql, " ", op, " ", bound[0], ")");
  }

  // What an event's person (FilterSql::key) is compared with: the person's
  // rowid, or their key.
  std::string PersonOfEvents() const {
    return person_rowids_ ? std::string("p.rowid") : absl::StrCat("p.", Quote(person_key_));
  }

  // `rows`, if given, gets the events' rows when the criterion is the set of
  // persons with at least one of them (set-based, min_count at most 1).
  absl::StatusOr<std::string> CompileEventCriterion(const trenode::v1::EventCriterion& events,
                                                    const std::string& path,
                                                    std::optional<FilterSql>* rows = nullptr) {
    reads_.events = true;
    if (events.min_count() < 0) return Invalid(absl::StrCat(path, ".min_count"), "is negative");
    ASSIGN_OR_RETURN(FilterSql filter,
                     CompileFilter(events.filter(), absl::StrCat(path, ".filter")));
    if (shape_ == PlanShape::kCorrelated) {
      if (events.min_count() <= 1) return absl::StrCat("EXISTS (SELECT 1 ", filter.from, ")");
      return absl::StrCat("((SELECT COUNT(*) ", filter.from, ") >= ", Param(events.min_count()),
                          ")");
    }
    // A semi-join: the set of persons with such events, found once through
    // the table's indexes, then each person looked up in it.
    std::string persons = absl::StrCat("SELECT ", filter.key, " ", filter.set_from);
    if (events.min_count() > 1) {
      // "+key" keeps the person-key index out of the grouping: walking it
      // would read every row of the table to test the filter, where the
      // covering code index reads only the matching rows (then sorted).
      absl::StrAppend(&persons, " GROUP BY ", person_rowids_ ? "" : "+", filter.key,
                      " HAVING COUNT(*) >= ", Param(events.min_count()));
    } else if (rows != nullptr) {
      *rows = filter;
    }
    return absl::StrCat("(", PersonOfEvents(), " IN (", persons, "))");
  }

  const PlanShape shape_;
  const bool person_rowids_;
  std::set<std::string>* tables_;
  const Dataset& dataset_;
  const Table& person_;
  std::string person_key_;
  const std::string& index_date_;
  std::vector<SqlParam> params_;
  // Event features compiled so far, by DeterministicBytes, each compiled
  // (and joined) once however often the query names it.
  std::map<std::string, Expr> features_;
  std::vector<std::string> joins_;
  std::vector<std::string> joined_values_;
  std::vector<std::pair<std::string, bool>> ungrouped_;
  Reads reads_;
  int aliases_ = 0;
  int criterion_nodes_ = 0;
};

absl::Status ValidateOutputName(const std::string& name, const std::string& path) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) return Invalid(path, absl::StrCat("\"", name, "\" is not a name [a-z][a-z0-9_]{0,63}"));
  return absl::OkStatus();
}

// Compiles one query into the per-person statement and the outputs' plans.
class QueryCompiler {
 public:
  QueryCompiler(const AggregateQuery& query, const Dataset& dataset, const Table& person,
                std::string person_key, const CompileLimits& limits)
      : query_(query),
        limits_(limits),
        person_(person),
        statement_(dataset, person, std::move(person_key), query.index_date(), &tables_,
                   limits.shape, limits.person_rowids) {}

  absl::StatusOr<CompiledQuery> Compile() {
    if (!query_.index_date().empty()) {
      RETURN_IF_ERROR(ValidateDate(query_.index_date(), "index_date"));
    }
    if (query_.outputs().empty()) return Invalid("outputs", "ask for at least one output");
    if (query_.outputs_size() > kMaxOutputs) {
      return Invalid("outputs", absl::StrCat("at most ", kMaxOutputs, " outputs"));
    }
    tables_.insert(person_.name());
    CompiledQuery compiled;
    std::set<std::string> names;
    for (int i = 0; i < query_.outputs_size(); ++i) {
      const trenode::v1::QueryOutput& output = query_.outputs(i);
      std::string path = absl::StrCat("outputs[", i, "]");
      RETURN_IF_ERROR(ValidateOutputName(output.name(), absl::StrCat(path, ".name")));
      if (!names.insert(output.name()).second) {
        return Invalid(absl::StrCat(path, ".name"),
                       absl::StrCat("\"", output.name(), "\" names two outputs"));
      }
      present_.emplace_back();
      ASSIGN_OR_RETURN(OutputPlan plan, CompileOutput(output, path));
      plan.name = output.name();
      std::set<int> uses(plan.terms.begin(), plan.terms.end());
      for (const GroupPlan& group : plan.groups) uses.insert(group.column);
      if (plan.value_column >= 0) uses.insert(plan.value_column);
      uses_.push_back(std::move(uses));
      if (limits_.shape != PlanShape::kSetBased) present_.back().clear();
      compiled.outputs.push_back(std::move(plan));
    }
    // The cohort's parameters follow the values' in the statement text.
    std::string cohort_sql;
    std::vector<StatementCompiler::Conjunct> conjuncts;
    if (query_.has_cohort()) {
      ASSIGN_OR_RETURN(cohort_sql,
                       statement_.CompileCriterion(query_.cohort(), "cohort", 0, &conjuncts));
    }
    if (statement_.param_count() > static_cast<size_t>(kMaxQueryValues)) {
      return Invalid("query",
                     absl::StrCat("uses ", statement_.param_count(),
                                  " values (codes, bounds and lists); at most ", kMaxQueryValues));
    }
    // The cohort pass reads every column but the values of outputs read in
    // passes of their own (a split summary still counts its cells' persons
    // by its groups here).
    std::vector<bool> cohort_uses(columns_.size() + 1, false);
    bool cohort_pass_needed = false;
    for (size_t o = 0; o < compiled.outputs.size(); ++o) {
      OutputPlan& plan = compiled.outputs[o];
      plan.own_pass = !present_[o].empty();
      if (!plan.own_pass) {
        for (int column : uses_[o]) cohort_uses[column] = true;
        cohort_pass_needed = true;
      } else if (plan.kind == trenode::v1::OUTPUT_KIND_SUMMARY) {
        for (const GroupPlan& group : plan.groups) cohort_uses[group.column] = true;
        cohort_pass_needed = true;
      }
    }
    compiled.persons.sql = PassSql(cohort_uses, cohort_sql, {});
    compiled.every_person = cohort_sql.empty() && statement_.joins().empty();
    compiled.persons.params = statement_.TakeParams();
    const std::vector<bool> lean_uses = Lean(cohort_uses);
    compiled.lean_persons = Statement{PassSql(lean_uses, cohort_sql, {}), compiled.persons.params};
    // (Joins the lean statement does not mention are not in it: a feature
    // only an output's own pass reads leaves the cohort every person.)
    compiled.lean_persons_rowid_only =
        std::find(lean_uses.begin(), lean_uses.end(), true) == lean_uses.end();
    compiled.lean_persons_every_rowid = cohort_sql.empty() && compiled.lean_persons_rowid_only;
    if (compiled.lean_persons_rowid_only) {
      if (std::optional<std::string> driven = DrivenByEvents(conjuncts)) {
        compiled.lean_persons.sql = *std::move(driven);
      }
    }
    compiled.derived = derived_;
    for (DerivedColumn& derived : compiled.derived) derived.sql.params = compiled.persons.params;
    if (!cohort_pass_needed) {
      // Regressions alone, each fitted from its own pass: the cohort is
      // only counted.
      std::string count = PassSql({}, cohort_sql, {});
      count.replace(0, std::string("SELECT p.rowid").size(), "SELECT COUNT(*)");
      compiled.cohort_count = Statement{std::move(count), compiled.persons.params};
    }
    for (size_t o = 0; o < compiled.outputs.size(); ++o) {
      if (!compiled.outputs[o].own_pass) continue;
      std::vector<bool> uses(columns_.size() + 1, false);
      for (int column : uses_[o]) uses[column] = true;
      compiled.value_passes.push_back(ValuePass{
          static_cast<int>(o),
          Statement{PassSql(uses, cohort_sql, present_[o]), compiled.persons.params},
          Statement{PassSql(Lean(uses), cohort_sql, present_[o]), compiled.persons.params},
          LoneFeatureOf(Lean(uses), cohort_sql, present_[o], compiled.persons.params)});
    }
    compiled.tables = tables_;
    JoinCountOutputs(compiled);
    return compiled;
  }

 private:
  // "SELECT p.rowid, <column or NULL>, ... FROM <person table> AS p <joins>
  // [WHERE cohort AND present...]": the columns `uses` marks (by statement
  // column, from 1) and NULL in place of the others, so that every pass
  // numbers its columns alike; only the joins the text mentions, those a
  // `present` condition names as inner joins (first, so that SQLite may
  // start from the pre-grouped values), the others as left joins. A join
  // more than needed would change no count: each has at most one row per
  // person.
  std::string PassSql(const std::vector<bool>& uses, const std::string& cohort_sql,
                      const std::vector<std::string>& present) const {
    std::vector<std::string> select = {"p.rowid"};
    for (size_t c = 1; c <= columns_.size(); ++c) {
      select.push_back(c < uses.size() && uses[c] ? columns_[c - 1] : "NULL");
    }
    std::string selected = absl::StrJoin(select, ", ");
    std::string required = absl::StrJoin(present, " ");
    std::string inner, left;
    for (size_t i = 0; i < statement_.joins().size(); ++i) {
      const std::string& join = statement_.joins()[i];
      if (MentionsJoin(required, i)) {
        absl::StrAppend(&inner, " JOIN ", join);
      } else if (MentionsJoin(selected, i) || MentionsJoin(cohort_sql, i)) {
        absl::StrAppend(&left, " LEFT JOIN ", join);
      }
    }
    std::vector<std::string> where;
    if (!cohort_sql.empty()) where.push_back(cohort_sql);
    if (!present.empty()) where.push_back(Balanced(present, "AND"));
    // A pass over the persons with one feature's values that reads nothing
    // else of theirs (no cohort, no person column) reads that feature's
    // pre-grouped values alone, in person rowid order, without the person
    // table: with person rowids each row's k is its person's rowid (every
    // event names a person of the table: the import looked each one up).
    if (std::optional<size_t> only = LoneJoin(selected, required, cohort_sql)) {
      select[0] = absl::StrCat("f", *only + 1, ".k");
      return absl::StrCat("SELECT ", absl::StrJoin(select, ", "), " FROM ",
                          statement_.joined_values(*only), " WHERE ",
                          absl::StrJoin(where, " AND "));
    }
    return absl::StrCat("SELECT ", selected, " FROM ", Quote(person_.name()), " AS p", inner, left,
                        where.empty() ? "" : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND ")));
  }

  // The join whose pre-grouped values a pass selecting `selected` ("p.rowid,
  // ...") of the persons who meet `required` reads alone: the only join
  // either names, one `required` names, when nothing else of the persons is
  // read (no cohort, no person column) and events name persons by rowid.
  std::optional<size_t> LoneJoin(const std::string& selected, const std::string& required,
                                 const std::string& cohort_sql) const {
    if (!statement_.person_rowids() || !cohort_sql.empty() || required.empty()) {
      return std::nullopt;
    }
    std::optional<size_t> only;
    int mentioned = 0;
    for (size_t i = 0; i < statement_.joins().size(); ++i) {
      if (MentionsJoin(selected, i) || MentionsJoin(required, i)) {
        ++mentioned;
        only = i;
      }
    }
    if (mentioned != 1 || !MentionsJoin(required, *only) ||
        MentionsPerson(selected.substr(std::string("p.rowid").size())) ||
        MentionsPerson(required)) {
      return std::nullopt;
    }
    return only;
  }

  // The pass PassSql(uses, cohort_sql, present) as its lone join's rows
  // ungrouped, when it reads that join's value alone (each column it
  // selects is the value or NULL, each condition that the value is known)
  // and the join is a MIN or MAX.
  std::optional<LoneFeature> LoneFeatureOf(const std::vector<bool>& uses,
                                           const std::string& cohort_sql,
                                           const std::vector<std::string>& present,
                                           const std::vector<SqlParam>& params) const {
    std::vector<std::string> select = {"p.rowid"};
    for (size_t c = 1; c <= columns_.size(); ++c) {
      select.push_back(c < uses.size() && uses[c] ? columns_[c - 1] : "NULL");
    }
    std::optional<size_t> only =
        LoneJoin(absl::StrJoin(select, ", "), absl::StrJoin(present, " "), cohort_sql);
    if (!only || statement_.ungrouped(*only).first.empty()) return std::nullopt;
    const std::string value = absl::StrCat("f", *only + 1, ".v");
    LoneFeature lone{Statement{statement_.ungrouped(*only).first, params},
                     statement_.ungrouped(*only).second,
                     {}};
    for (size_t c = 1; c < select.size(); ++c) {
      if (select[c] == value) {
        lone.value_columns.push_back(static_cast<int>(c));
      } else if (select[c] != "NULL") {
        return std::nullopt;
      }
    }
    for (const std::string& condition : present) {
      if (condition != absl::StrCat("(", value, " IS NOT NULL)")) return std::nullopt;
    }
    return lone;
  }

  // The lean cohort statement that selects only rowids as the rows of the
  // first conjunct that is a set of persons with events, each person once,
  // in rowid order, the other conjuncts applied to them: "SELECT
  // e.<rowid>, NULL, ... FROM <events> AS e WHERE <filter> AND <others>
  // GROUP BY e.<rowid> ORDER BY e.<rowid>". With person rowids every event names a person of
  // the person table (the import looked each up), so the person table is
  // not read at all: not its rows, nor its rowids one by one. Nullopt if no
  // conjunct is such a set, or another reads a person column or a feature
  // joined to the persons.
  std::optional<std::string> DrivenByEvents(
      const std::vector<StatementCompiler::Conjunct>& conjuncts) const {
    if (!statement_.person_rowids()) return std::nullopt;
    auto driver = std::find_if(conjuncts.begin(), conjuncts.end(),
                               [](const auto& conjunct) { return conjunct.events.has_value(); });
    if (driver == conjuncts.end()) return std::nullopt;
    const FilterSql& rows = *driver->events;
    std::vector<std::string> where;
    for (const auto& conjunct : conjuncts) {
      if (&conjunct == &*driver) continue;
      std::string sql = ReplacePersonRowid(conjunct.sql, rows.key);
      if (MentionsPerson(sql)) return std::nullopt;
      for (size_t i = 0; i < statement_.joins().size(); ++i) {
        if (MentionsJoin(sql, i)) return std::nullopt;  // a feature joined to the persons
      }
      where.push_back(std::move(sql));
    }
    std::vector<std::string> select = {rows.key};
    select.resize(columns_.size() + 1, "NULL");
    std::string sql = absl::StrCat("SELECT ", absl::StrJoin(select, ", "), " ", rows.set_from);
    if (!where.empty()) {
      absl::StrAppend(&sql, rows.set_filtered ? " AND " : " WHERE ", Balanced(where, "AND"));
    }
    // GROUP BY, not DISTINCT: SQLite then groups a code's rows in the code
    // index's order, with no temporary table (DISTINCT over the NULLs too
    // keeps one).
    absl::StrAppend(&sql, " GROUP BY ", rows.key, " ORDER BY ", rows.key);
    return sql;
  }

  // `sql` with each "p.rowid" (at the start of an identifier) as `with`.
  static std::string ReplacePersonRowid(const std::string& sql, const std::string& with) {
    const std::string kRowid = "p.rowid";
    std::string replaced;
    size_t from = 0;
    for (size_t at = sql.find(kRowid); at != std::string::npos; at = sql.find(kRowid, at + 1)) {
      const bool starts = at == 0 || !(std::isalnum(static_cast<unsigned char>(sql[at - 1])) ||
                                       sql[at - 1] == '_' || sql[at - 1] == '"');
      const size_t end = at + kRowid.size();
      const bool ends = end == sql.size() ||
                        !(std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_');
      if (!starts || !ends) continue;
      absl::StrAppend(&replaced, absl::string_view(sql).substr(from, at - from), with);
      from = end;
    }
    absl::StrAppend(&replaced, absl::string_view(sql).substr(from));
    return replaced;
  }

  // `uses` without the derived columns.
  std::vector<bool> Lean(std::vector<bool> uses) const {
    for (const DerivedColumn& derived : derived_) {
      if (static_cast<size_t>(derived.column) < uses.size()) uses[derived.column] = false;
    }
    return uses;
  }

  // Whether `sql` names a column of the person table ("p.<column>").
  static bool MentionsPerson(const std::string& sql) { return Names(sql, "p."); }

  // Whether `sql` names join i's value "f<i+1>.v" (not f<i+1>0.v).
  static bool MentionsJoin(const std::string& sql, size_t i) {
    return Names(sql, absl::StrCat("f", i + 1, ".v"));
  }

  // Whether `name` occurs in `sql` at the start of an identifier.
  static bool Names(const std::string& sql, const std::string& name) {
    for (size_t at = sql.find(name); at != std::string::npos; at = sql.find(name, at + 1)) {
      if (at == 0 || !(std::isalnum(static_cast<unsigned char>(sql[at - 1])) || sql[at - 1] == '_'))
        return true;
    }
    return false;
  }

  // The statement column of `variable`, added the first time it is asked
  // for; compiling it again (`mark` was the parameter count before) added
  // parameters the statement will not use, so they are forgotten.
  // A column of one person-table column alone is noted as derived from it.
  int ColumnOf(const Variable& variable, const std::string& sql, size_t mark) {
    StatementCompiler::Reads reads = statement_.TakeReads();
    auto [it, added] = column_of_.emplace(DeterministicBytes(variable), columns_.size() + 1);
    if (added) {
      columns_.push_back(sql);
      if (!reads.events && reads.person_columns.size() == 1) {
        const Column* column = *reads.person_columns.begin();
        derived_.push_back(
            DerivedColumn{it->second, column->name(), column->type(), Statement{sql, {}}});
      }
    } else {
      statement_.Rollback(mark);
    }
    return it->second;
  }

  absl::Status AddGroups(const google::protobuf::RepeatedPtrField<GroupBy>& groups,
                         const std::string& path, OutputPlan& plan) {
    if (groups.size() > kMaxGroupColumns) {
      return Invalid(path, absl::StrCat("at most ", kMaxGroupColumns, " group columns"));
    }
    for (int i = 0; i < groups.size(); ++i) {
      std::string field = absl::StrCat(path, "[", i, "]");
      size_t mark = statement_.param_count();
      statement_.TakeReads();
      ASSIGN_OR_RETURN(auto group, statement_.CompileGroup(groups[i], field, limits_));
      GroupPlan column;
      column.label = groups[i].label().empty() ? group.first.name : groups[i].label();
      column.column = ColumnOf(groups[i].variable(), group.first.sql, mark);
      column.categories = std::move(group.second);
      column.person_value = group.first.person_value;
      plan.cells *= static_cast<int64_t>(column.categories.size());
      if (plan.cells > kMaxResultCells) {
        return Invalid(field, absl::StrCat("the groups make more than ", kMaxResultCells,
                                           " cells (every combination is listed); coarsen them"));
      }
      plan.groups.push_back(std::move(column));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<OutputPlan> CompileOutput(const trenode::v1::QueryOutput& output,
                                           const std::string& path) {
    OutputPlan plan;
    switch (output.kind_case()) {
      case trenode::v1::QueryOutput::kCounts:
        plan.kind = trenode::v1::OUTPUT_KIND_COUNTS;
        RETURN_IF_ERROR(
            AddGroups(output.counts().group_by(), absl::StrCat(path, ".counts.group_by"), plan));
        return plan;
      case trenode::v1::QueryOutput::kCrosstab: {
        plan.kind = trenode::v1::OUTPUT_KIND_CROSSTAB;
        if (!output.crosstab().has_rows() || !output.crosstab().has_columns()) {
          return Invalid(absl::StrCat(path, ".crosstab"), "give rows and columns");
        }
        google::protobuf::RepeatedPtrField<GroupBy> both;
        *both.Add() = output.crosstab().rows();
        *both.Add() = output.crosstab().columns();
        RETURN_IF_ERROR(AddGroups(both, absl::StrCat(path, ".crosstab.[rows,columns]"), plan));
        return plan;
      }
      case trenode::v1::QueryOutput::kSummary: {
        plan.kind = trenode::v1::OUTPUT_KIND_SUMMARY;
        RETURN_IF_ERROR(
            AddGroups(output.summary().group_by(), absl::StrCat(path, ".summary.group_by"), plan));
        std::string field = absl::StrCat(path, ".summary.value");
        size_t mark = statement_.param_count();
        statement_.TakeReads();
        ASSIGN_OR_RETURN(Expr value, statement_.CompileVariable(output.summary().value(), field));
        if (!IsNumeric(value.type)) {
          return Invalid(field, absl::StrCat(value.name, " is not a number"));
        }
        plan.value_column = ColumnOf(output.summary().value(), value.sql, mark);
        if (!value.present.empty()) present_.back().push_back(value.present);
        return plan;
      }
      case trenode::v1::QueryOutput::kRegression: {
        plan.kind = trenode::v1::OUTPUT_KIND_REGRESSION;
        const trenode::v1::RegressionOutput& regression = output.regression();
        std::string field = absl::StrCat(path, ".regression");
        if (regression.predictors().empty() && regression.no_intercept()) {
          return Invalid(field, "needs at least one term");
        }
        if (regression.predictors_size() > kMaxPredictors) {
          return Invalid(field, absl::StrCat("at most ", kMaxPredictors, " predictors"));
        }
        std::vector<const Variable*> variables = {&regression.outcome()};
        for (const Variable& predictor : regression.predictors()) variables.push_back(&predictor);
        plan.intercept = !regression.no_intercept();
        if (plan.intercept) plan.term_names.push_back("intercept");
        for (size_t i = 0; i < variables.size(); ++i) {
          std::string term_path = i == 0 ? absl::StrCat(field, ".outcome")
                                         : absl::StrCat(field, ".predictors[", i - 1, "]");
          size_t mark = statement_.param_count();
          statement_.TakeReads();
          ASSIGN_OR_RETURN(Expr term, statement_.CompileVariable(*variables[i], term_path));
          if (!IsNumeric(term.type)) {
            return Invalid(term_path, absl::StrCat(term.name, " is not a number"));
          }
          if (i > 0) plan.term_names.push_back(term.name);
          plan.terms.push_back(ColumnOf(*variables[i], term.sql, mark));
          // Only persons with every term are fitted.
          if (!term.present.empty()) present_.back().push_back(term.present);
        }
        return plan;
      }
      case trenode::v1::QueryOutput::KIND_NOT_SET:
        break;
    }
    return Invalid(path, "choose counts, summary, crosstab or regression");
  }

  // The joint variables of the count-like outputs: one per statement column,
  // binned on the union of every output's boundaries for it.
  static void JoinCountOutputs(CompiledQuery& compiled) {
    std::map<int, std::vector<GroupPlan*>> uses;
    for (OutputPlan& output : compiled.outputs) {
      if (output.kind != trenode::v1::OUTPUT_KIND_COUNTS &&
          output.kind != trenode::v1::OUTPUT_KIND_CROSSTAB) {
        continue;
      }
      for (GroupPlan& group : output.groups) uses[group.column].push_back(&group);
    }
    for (auto& [column, groups] : uses) {
      const Categories& first = groups.front()->categories;
      JointVariable variable{column, first, groups.front()->person_value};
      if (first.binned()) {
        std::set<double> boundaries;
        bool missing = false;
        for (const GroupPlan* group : groups) {
          boundaries.insert(group->categories.boundaries().begin(),
                            group->categories.boundaries().end());
          missing = missing || group->categories.has_missing();
        }
        variable.categories = Categories::Binned({boundaries.begin(), boundaries.end()}, missing);
      }
      for (GroupPlan* group : groups) {
        group->joint_variable = static_cast<int>(compiled.joint.size());
      }
      compiled.joint.push_back(std::move(variable));
    }
    compiled.joint_cells = 1;
    for (const JointVariable& variable : compiled.joint) {
      compiled.joint_cells *= static_cast<int64_t>(variable.categories.size());
      if (compiled.joint_cells > kMaxJointCells) {
        compiled.joint_cells = 0;
        return;
      }
    }
  }

  const AggregateQuery& query_;
  const CompileLimits& limits_;
  const Table& person_;
  std::set<std::string> tables_;
  StatementCompiler statement_;
  std::vector<std::string> columns_;  // the statement's value columns, from 1
  // Per output: the conditions every person with its values meets, each
  // answered through indexes or a join (empty: none is known, or the plan
  // is per person); an output with some is read in a pass of its own.
  std::vector<std::vector<std::string>> present_;
  std::vector<std::set<int>> uses_;  // per output, the statement columns it reads
  std::map<std::string, int> column_of_;  // by DeterministicBytes
  std::vector<DerivedColumn> derived_;
};

}  // namespace

absl::StatusOr<CompiledQuery> CompileQuery(const AggregateQuery& query, const Dataset& dataset,
                                           const CompileLimits& limits) {
  std::string person_table = dataset.person_table().empty() ? "person" : dataset.person_table();
  for (const Table& table : dataset.tables()) {
    if (table.name() != person_table) continue;
    for (const Column& column : table.columns()) {
      if (column.is_person_key()) {
        return QueryCompiler(query, dataset, table, column.name(), limits).Compile();
      }
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "dataset ", dataset.id(), " has no person table with a person key; it cannot be queried"));
}

}  // namespace trenode::query
