// Runs a compiled aggregate query against one dataset's SQLite file: one
// pass over the cohort's persons fills every output's grid of cells (zeros
// included), with the per-cell evidence disclosure control needs
// (spec/analyses.md, "Results"), and the internals it keeps for itself: the
// persons behind each cell and the joint table of the linked counts.
#ifndef TRENODE_NODE_QUERY_RUNNER_H_
#define TRENODE_NODE_QUERY_RUNNER_H_

#include "absl/status/statusor.h"
#include "node/query/compiler.h"
#include "node/query/person_codes.h"
#include "node/storage/sqlite.h"
#include "trenode/internal/query_internals.pb.h"
#include "trenode/v1/query.pb.h"

namespace trenode::query {

struct QueryOutcome {
  trenode::v1::AggregateResult result;
  trenode::internal::QueryInternals internals;
  // Metering (spec/charging.md): the rows SQLite returned to the query
  // engine, one per person of the cohort in each pass over it.
  int64_t rows_read = 0;
};

struct RunLimits {
  // A query's regressions keep at most this many predictor values in memory
  // from the first pass (64 MiB), to measure leverage without reading the
  // cohort again; beyond it they read it again.
  size_t kept_predictor_values = size_t{8} << 20;
};

// `dataset` should be opened read-only; `codes` are its person rows' codes.
// Cancelled if the connection's stop check (SqliteDb::SetStopCheck) stopped
// it; Internal for other SQL errors or a value outside its recorded
// categories (a compiler bug, or a dataset file that does not match its
// catalogue entry).
absl::StatusOr<QueryOutcome> RunQuery(storage::SqliteDb& dataset, const CompiledQuery& query,
                                      const PersonCodes& codes, const RunLimits& limits = {});

// Whether every event table of `dataset` (a table with a person key other
// than the person table) has the person rowid column in `file`
// (CompileLimits::person_rowids). Reads the file's schema, no rows.
absl::StatusOr<bool> FileHasPersonRowids(storage::SqliteDb& file,
                                         const trenode::v1::Dataset& dataset);

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_RUNNER_H_
