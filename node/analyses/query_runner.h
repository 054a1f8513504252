// Runs a compiled aggregate query against one dataset's SQLite file and
// assembles the result tables, with the per-cell evidence disclosure control
// needs (spec/analyses.md, "Results").
#ifndef TRENODE_NODE_ANALYSES_QUERY_RUNNER_H_
#define TRENODE_NODE_ANALYSES_QUERY_RUNNER_H_

#include "absl/status/statusor.h"
#include "node/analyses/query_compiler.h"
#include "node/storage/sqlite.h"
#include "trenode/v1/query.pb.h"

namespace trenode::analyses {

// `dataset` should be opened read-only. FailedPrecondition if an output would
// have more than kMaxResultCells cells; Cancelled if the connection's stop
// check (SqliteDb::SetStopCheck) stopped it; Internal for other SQL errors (a
// compiler bug or a dataset file that does not match its catalogue schema).
absl::StatusOr<trenode::v1::AggregateResult> RunQuery(storage::SqliteDb& dataset,
                                                      const CompiledQuery& query);

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_QUERY_RUNNER_H_
