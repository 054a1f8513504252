// Tables for disclosure checks read from CSV text: the first row names the
// columns, the first column the rows. Counts tables hold whole numbers; in
// magnitude tables each cell lists its contributions separated by ';' (up to
// 6 decimal places, kept in millionths so comparisons stay exact). Shared by
// `trectl disclosure check` and the release of script outputs that declare
// their kind (spec/disclosure.md, "Tables in CSV").
#ifndef TRENODE_NODE_RELEASES_TABLE_CSV_H_
#define TRENODE_NODE_RELEASES_TABLE_CSV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/disclosure/table.h"

namespace trenode::releases {

inline constexpr char kTotal[] = "Total";

// Which totals a counts table gave.
struct GivenTotals {
  bool row = false;     // a row labelled "Total"
  bool column = false;  // a last column labelled "Total"
};

// The table's cells, without its totals. A counts table may give a row
// labelled "Total" and a last column labelled "Total"; each must be the sum
// of its cells, and which were given is set in `totals` (if not null), for
// the rules to judge them like any cell. InvalidArgument naming the line and column
// of the first bad field, a row or column label that appears twice, a total
// that is not the sum of its cells, totals in a magnitude table (the node
// publishes its aggregates itself), or a magnitude cell whose absolute
// contributions add up past int64 millionths.
absl::StatusOr<disclosure::Table> ParseTableCsv(absl::string_view csv, bool magnitude,
                                                const std::string& name,
                                                GivenTotals* totals = nullptr);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_TABLE_CSV_H_
