// Compiles a typed AggregateQuery into parameterised SQL over one dataset's
// SQLite file, checking every table and column against the dataset's
// catalogue schema and refusing anything that could return row-level data
// (spec/analyses.md, "Aggregate queries"). No value from the query is ever
// spliced into SQL text: names are checked against the schema and quoted,
// literals are bound parameters.
#ifndef TRENODE_NODE_ANALYSES_QUERY_COMPILER_H_
#define TRENODE_NODE_ANALYSES_QUERY_COMPILER_H_

#include <cstdint>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "trenode/v1/catalogue.pb.h"
#include "trenode/v1/query.pb.h"

namespace trenode::analyses {

using SqlParam = std::variant<int64_t, double, std::string>;

// One statement; params[i] is bound to ?(i+1).
struct Statement {
  std::string sql;
  std::vector<SqlParam> params;
};

// How a selected group value becomes a label.
struct GroupColumn {
  std::string label;
  // Empty for unbinned values (the value itself is the label); otherwise
  // the value is a bin index into these labels.
  std::vector<std::string> bin_labels;
};

// One output's statement. Its rows, by kind:
//  counts/crosstab: group values..., COUNT(*)   (grouped and ordered by group)
//  summary:         group values..., value      (one row per person, ordered by group)
//  regression:      outcome, predictors...      (one row per person)
struct CompiledOutput {
  std::string name;
  trenode::v1::OutputKind kind = trenode::v1::OUTPUT_KIND_UNSPECIFIED;
  Statement statement;
  std::vector<GroupColumn> groups;
  // Regression: the terms' names, "intercept" first unless no_intercept.
  std::vector<std::string> terms;
  bool intercept = false;
};

struct CompiledQuery {
  Statement cohort_size;  // SELECT COUNT(*) of the cohort
  // Every table any statement reads, for the data-access record.
  std::set<std::string> tables;
  std::vector<CompiledOutput> outputs;
};

// At most this many groups (cells) in one output.
inline constexpr int64_t kMaxResultCells = 10000;
// At most this many outputs, group columns and regression predictors.
inline constexpr int kMaxOutputs = 32;
inline constexpr int kMaxGroupColumns = 4;
inline constexpr int kMaxPredictors = 32;

// InvalidArgument naming the offending field (as a proto path, e.g.
// "outputs[0].counts.group_by[1].variable.column") and why.
absl::StatusOr<CompiledQuery> CompileQuery(const trenode::v1::AggregateQuery& query,
                                           const trenode::v1::Dataset& dataset);

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_QUERY_COMPILER_H_
