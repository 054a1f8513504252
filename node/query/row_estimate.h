// The planner's estimate of the rows a compiled query reads (spec/charging.md,
// "Estimates"): for each table it reads, the row count SQLite's ANALYZE
// recorded in sqlite_stat1 (every dataset file is analyzed at import),
// summed. Thread-safe: each call opens its own read-only connection.
#ifndef TRENODE_NODE_QUERY_ROW_ESTIMATE_H_
#define TRENODE_NODE_QUERY_ROW_ESTIMATE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "node/catalogue/catalogue_store.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::query {

// NotFound if the file has no statistics for one of `tables`; Unavailable if
// it cannot be read.
absl::StatusOr<int64_t> EstimateRows(const std::string& dataset_path,
                                     const std::set<std::string>& tables);

// The row count of every table the file's sqlite_stat1 names (exact: keep
// them from anyone who may not see the data). NotFound if the file has no
// statistics; Unavailable if it cannot be read.
absl::StatusOr<std::map<std::string, int64_t>> ReadTableRows(const std::string& dataset_path);

// The sum of `rows` over `tables` (saturating). NotFound, naming the table
// and no count, if one of `tables` has none.
absl::StatusOr<int64_t> SumTableRows(const std::map<std::string, int64_t>& rows,
                                     const std::set<std::string>& tables);

// Where a dataset version's data file can be read on this node.
using DatasetPath = std::function<absl::StatusOr<std::string>(const trenode::v1::Dataset&)>;

// The rows a query over `tables` of `dataset` reads, from the counts kept
// with the version at import; a version that has none (imported before they
// were kept, registered from a file) reads them from its data file once, via
// `path_of`, and keeps them (best effort: a failed keep only means the next
// estimate reads the file again). Errors as SumTableRows and ReadTableRows.
absl::StatusOr<int64_t> KeptTableRows(catalogue::CatalogueStore& store, const DatasetPath& path_of,
                                      const trenode::v1::Dataset& dataset,
                                      const std::set<std::string>& tables);

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_ROW_ESTIMATE_H_
