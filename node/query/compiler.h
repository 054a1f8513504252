// Compiles a typed AggregateQuery into one parameterised SQL statement over
// one dataset's SQLite file and a plan for each output (spec/analyses.md,
// "Aggregate queries"), checking every table and column against the
// dataset's catalogue schema and refusing anything that could return
// row-level data. No value from the query is ever spliced into SQL text:
// names are checked against the schema and quoted, literals are bound
// parameters. Everything that bounds a result is known here, before any
// data is read: each output's grid of categories, its cell count, and the
// statement's size.
#ifndef TRENODE_NODE_QUERY_COMPILER_H_
#define TRENODE_NODE_QUERY_COMPILER_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "node/query/grid.h"
#include "trenode/v1/catalogue.pb.h"
#include "trenode/v1/query.pb.h"

namespace trenode::query {

using SqlParam = std::variant<int64_t, double, std::string>;

// One statement; params[i] is bound to ?(i+1). The statements of one query
// share their numbering, so the SQL may name only some of them (never one
// past the end); binding the rest changes nothing.
struct Statement {
  std::string sql;
  std::vector<SqlParam> params;
};

// A value read from the person table alone: the column as it is, or an age
// from an INTEGER year of birth (`age_at_year` minus the column, as SQLite
// subtracts).
struct PersonValue {
  std::string column;
  std::optional<int64_t> age_at_year;
};

// A group column of an output: which statement column holds its value and
// the categories it falls into.
struct GroupPlan {
  std::string label;  // the column heading
  int column = 0;
  Categories categories;
  // If the value is read from the person table alone, from which column.
  std::optional<PersonValue> person_value;
  // Count-like outputs: the joint variable this column is a coarsening of.
  int joint_variable = -1;
};

struct OutputPlan {
  std::string name;
  trenode::v1::OutputKind kind = trenode::v1::OUTPUT_KIND_UNSPECIFIED;
  std::vector<GroupPlan> groups;
  int64_t cells = 1;       // the grid's size: every combination of the groups
  int value_column = -1;   // summary: the summarised value
  std::vector<int> terms;  // regression: outcome, then each predictor
  // Regression: the terms' names, "intercept" first unless no_intercept.
  std::vector<std::string> term_names;
  bool intercept = false;
  // Set-based plans: the output's values are read in a pass of its own over
  // the cohort's persons who can have them (CompiledQuery::value_passes),
  // where they are found through the events' indexes or by joining from
  // the pre-grouped values; in the cohort pass a summary only counts each
  // cell's persons and a regression takes nothing.
  bool own_pass = false;
};

// The rows of one event feature, ungrouped: "SELECT <person rowid>,
// <value> FROM <events> WHERE <filter> AND <value> IS NOT NULL ORDER BY
// <person rowid>". Each person's MIN (or MAX) of its values is the
// feature's value; `value_columns` are the pass's columns that hold it.
struct LoneFeature {
  Statement rows;
  bool max = false;
  std::vector<int> value_columns;
};

// The pass over the persons of one output with its own pass.
struct ValuePass {
  int output = 0;
  // Columns numbered as in CompiledQuery::persons; those the output does not
  // read are NULL. Only persons with the output's values (summary: the
  // value; regression: every term known to be missing for some) are rows.
  Statement statement;
  // The same pass with NULL in place of CompiledQuery::derived's columns.
  Statement lean;
  // Set when `lean` reads one MIN or MAX event feature's pre-grouped values
  // alone (every other column NULL, its rows the persons with a value): the
  // feature's own rows, which the runner reduces to `lean`'s rows itself
  // (node/query/lone_feature.h); SQLite's GROUP BY costs three times the
  // scan of the rows it groups.
  std::optional<LoneFeature> lone;
};

// A statement column whose value is a function of one column of the person
// table alone (the column, an age from it, an indicator over it): where the
// node keeps that column in memory (node/query/person_columns.h), the
// runner evaluates `sql` once for each of its distinct values and reads the
// column from there, so that a pass need not read the person table's rows
// (ValuePass::lean, CompiledQuery::lean_persons).
struct DerivedColumn {
  int column = 0;             // the statement column
  std::string person_column;  // the one person-table column `sql` reads, as "p"
  trenode::v1::ColumnType type = trenode::v1::COLUMN_TYPE_UNSPECIFIED;  // its type
  Statement sql;  // the expression, numbering its values as the passes do
};

// The finest cross-classification of every variable the counts and
// cross-tabulations group by, each variable refined to the common bins of
// all its uses: every count-like output's cells are sums of its cells, so
// linked tables are audited together (spec/disclosure.md, "Linked tables").
struct JointVariable {
  int column = 0;
  Categories categories;
  std::optional<PersonValue> person_value;  // as its groups'
};

struct CompiledQuery {
  // The cohort pass, "SELECT p.rowid, <value>, ... FROM <person table> AS p
  // [WHERE cohort]": one row per person of the cohort; column 0 is the
  // person's rowid and the others the per-person values the plans name
  // (NULL in place of values only outputs with their own pass read).
  Statement persons;
  // The query has no cohort criterion: the cohort is every person.
  bool every_person = false;
  // If set, `persons` is not run: every output is a regression with its own
  // pass, and this counts the whole cohort: "SELECT COUNT(*) FROM <person
  // table> AS p [WHERE cohort]".
  std::optional<Statement> cohort_count;
  // One per output with its own pass, in output order.
  std::vector<ValuePass> value_passes;
  // The columns the passes may read from the person columns instead, and
  // `persons` with NULL in their place (every one of them is read from
  // memory, or none).
  std::vector<DerivedColumn> derived;
  Statement lean_persons;
  // lean_persons has no cohort condition and no join and selects nothing
  // but the rowid: its rows are every person's, which the runner then takes
  // from the person codes in rowid order without reading the file.
  bool lean_persons_every_rowid = false;
  // lean_persons selects nothing but the rowid (its other columns NULL),
  // whatever its cohort condition.
  bool lean_persons_rowid_only = false;
  // Every table the statement reads, for the data-access record.
  std::set<std::string> tables;
  std::vector<OutputPlan> outputs;
  std::vector<JointVariable> joint;
  int64_t joint_cells = 1;  // 0 when the joint table would pass kMaxJointCells
};

// How event criteria are planned. kSetBased (the node's): each criterion is
// the set of persons its events name, found once through the event table's
// indexes (a semi-join), code prefixes are ranges. kCorrelated: a lookup per
// person (EXISTS, substr), as earlier versions planned; kept as the
// reference the differential test (node/query/plan_differential_test.cc)
// holds the set-based plans to.
enum class PlanShape { kSetBased, kCorrelated };

struct CompileLimits {
  // Categories of an unbinned TEXT column; above it, grouping by the column
  // is refused (config compute.query_max_categories).
  int max_categories = 100;
  PlanShape shape = PlanShape::kSetBased;
  // The dataset file's event tables have each row's person rowid
  // (catalogue::kPersonRowidColumn, FileHasPersonRowids): events are joined
  // to persons and grouped by it. Else by the person key, as in files
  // imported before it.
  bool person_rowids = false;
};

// At most this many cells in one output (every combination of its groups).
inline constexpr int64_t kMaxResultCells = 10000;
// The joint table of linked tables is kept up to this many cells; beyond it
// linked tables with suppressed cells go to an output checker.
inline constexpr int64_t kMaxJointCells = 100000;
// At most this many outputs, group columns and regression predictors.
inline constexpr int kMaxOutputs = 32;
inline constexpr int kMaxGroupColumns = 4;
inline constexpr int kMaxPredictors = 32;
// At most this many literal values (codes, prefixes, IN lists, bounds) in a
// query: SQLite binds at most 32,766 parameters to one statement.
inline constexpr int kMaxQueryValues = 20000;

// InvalidArgument naming the offending field (as a proto path, e.g.
// "outputs[0].counts.group_by[1].variable.column") and why.
absl::StatusOr<CompiledQuery> CompileQuery(const trenode::v1::AggregateQuery& query,
                                           const trenode::v1::Dataset& dataset,
                                           const CompileLimits& limits = {});

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_COMPILER_H_
