// The DuckDB yardstick of trenode-query-bench: runs
// tests/bench/duckdb/duckdb_bench.mjs (Node.js and the npm package
// @duckdb/node-api, installed by `npm ci` in that folder) on the same site's
// CSV files and reads back its load time, each case's median time and the
// rows of its answer. A measuring stick only: nothing of the node uses it.
// Not thread-safe: one call at a time.
#ifndef TRENODE_TESTS_BENCH_DUCKDB_YARDSTICK_H_
#define TRENODE_TESTS_BENCH_DUCKDB_YARDSTICK_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/bench/query_bench_cases.h"

namespace trenode::bench {

struct DuckDbCase {
  double median_seconds = 0;
  std::vector<SqlRow> rows;  // as the case's hand-written SQL returns them
};

struct DuckDbRun {
  std::string version;  // e.g. "v1.5.6"
  int threads = 0;
  double load_seconds = 0;  // the CSV files into tables
  std::map<std::string, DuckDbCase> cases;  // by case name
};

// The folder of the yardstick's script and package files.
std::string DuckDbFolder();

// True if its npm packages are installed (`npm ci` was run there).
bool DuckDbInstalled();

// Runs the script over the CSV files in `site_dir`, building its database
// in `database_file`, each case `rounds` times. FailedPrecondition if the
// script fails (its error is on stderr) or writes a line it should not.
absl::StatusOr<DuckDbRun> RunDuckDb(const std::string& site_dir,
                                    const std::string& database_file, int rounds);

}  // namespace trenode::bench

#endif  // TRENODE_TESTS_BENCH_DUCKDB_YARDSTICK_H_
