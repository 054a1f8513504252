// Tables for disclosure checks read from CSV text: the first row names the
// columns, the first column the rows. Counts tables hold whole numbers; in
// magnitude tables each cell lists its contributions separated by ';' (up to
// 6 decimal places, kept in millionths so comparisons stay exact). Shared by
// `trectl disclosure check` and the release of script outputs that declare
// their kind (spec/disclosure.md, "Tables in CSV").
#ifndef TRENODE_NODE_RELEASES_TABLE_CSV_H_
#define TRENODE_NODE_RELEASES_TABLE_CSV_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/disclosure/table.h"

namespace trenode::releases {

// InvalidArgument naming the line and column of the first bad field, a row
// or column label that appears twice, or a magnitude cell whose absolute
// contributions add up past int64 millionths. A row labelled "Total" is
// taken as the margin and skipped.
absl::StatusOr<disclosure::Table> ParseTableCsv(absl::string_view csv, bool magnitude,
                                                const std::string& name);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_TABLE_CSV_H_
