// The questions trenode-query-bench asks: each as an aggregate query for the
// node and as the best SQL a person would write for SQLite by hand, and how
// the answers of both (and of any other engine that returns the same rows as
// the hand-written SQL, such as the DuckDB yardstick) are put in one shape
// and compared. Plain data and pure functions: safe from any thread.
#ifndef TRENODE_TESTS_BENCH_QUERY_BENCH_CASES_H_
#define TRENODE_TESTS_BENCH_QUERY_BENCH_CASES_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "trenode/v1/query.pb.h"

namespace trenode::bench {

// How a hand-written statement's rows read (the first `groups` columns are
// group labels, as the node writes them):
//  kCounts:     labels..., count
//  kCrosstab:   row label, column label, count (margins are added here)
//  kSummary:    labels..., persons, n with a value, sum, sum of squares
//  kRegression: one row of sums over the persons with every term, for
//               predictors x1..xk and outcome y: n, each Σxi, each Σxi·xj
//               (i <= j), Σy, each Σxi·y, Σy²; an intercept is assumed.
enum class HandShape { kCounts, kCrosstab, kSummary, kRegression };

struct BenchCase {
  const char* name;
  std::string query;  // trenode.v1.AggregateQuery, text format; its first output is compared
  std::string sql;    // the same question for SQLite, by hand
  HandShape shape;
  int groups;  // group columns (kRegression: predictors)
};

// Every case, in the order they run.
std::span<const BenchCase> BenchCases();

// One value of a result row.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;
using SqlRow = std::vector<SqlValue>;

// An answer in a shape both sides share: counts compare exactly, values to a
// relative 1e-9.
struct Answer {
  std::map<std::string, int64_t> counts;
  std::map<std::string, double> values;
};

// The node's answer: the first table of `result`. Cells that count nobody
// are left out (hand-written SQL only returns groups that occur).
Answer NodeAnswer(const trenode::v1::AggregateResult& result);

// The answer in hand-written rows of `shape`; a row of the wrong width or
// type leaves a "malformed row" count that no node answer has.
Answer HandAnswer(HandShape shape, int groups, const std::vector<SqlRow>& rows);

enum class Agreement { kSame, kCountsDiffer, kValuesDiffer };

// kSame if both have the same keys and counts and every value agrees to
// 1e-9 relative; `first_difference` then names where they part, if given.
Agreement Compare(const Answer& a, const Answer& b, std::string* first_difference = nullptr);

const char* AgreementText(Agreement agreement);

}  // namespace trenode::bench

#endif  // TRENODE_TESTS_BENCH_QUERY_BENCH_CASES_H_
