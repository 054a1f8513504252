// How trectl shows a month's usage statement (trectl project usage): a
// table for people, CSV for spreadsheets (the JSON form is the reply
// itself, --json). Money in the statement's currency with 6 decimals in CSV,
// at least 2 in the table; the total line is the statement's total, which
// the node computes as the exact sum of the lines. Pure; thread-safe.
#ifndef TRENODE_NODE_TRECTL_USAGE_STATEMENT_H_
#define TRENODE_NODE_TRECTL_USAGE_STATEMENT_H_

#include <string>

#include "trenode/v1/governance.pb.h"

namespace trenode::trectl {

// Header "analysis_id,submitter,kind,state,created,estimated,cpu_seconds,
// wall_seconds,peak_memory_bytes,rows_read,output_bytes,metered_by,cost",
// one row per line, then "total,...,<total>".
std::string StatementCsv(const trenode::v1::ProjectUsage& usage);
std::string StatementTable(const trenode::v1::ProjectUsage& usage);

}  // namespace trenode::trectl

#endif  // TRENODE_NODE_TRECTL_USAGE_STATEMENT_H_
