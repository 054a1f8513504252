// The files a release offers from a script job's outputs (spec/releases.md,
// "Files"): hard gates, then the disclosure rules for files that declare a
// kind. Aggregate results are in aggregate_files.h.
#ifndef TRENODE_NODE_RELEASES_RELEASE_FILES_H_
#define TRENODE_NODE_RELEASES_RELEASE_FILES_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/disclosure/policy.h"
#include "node/disclosure/table.h"
#include "node/releases/aggregate_files.h"
#include "node/releases/candidate_file.h"
#include "trenode/v1/analyses.pb.h"
#include "trenode/v1/query.pb.h"
#include "trenode/v1/releases.pb.h"

namespace trenode::releases {

struct HardGates {
  std::set<std::string> extensions = {"csv", "txt", "json"};
  int64_t max_file_bytes = int64_t{10} << 20;
  int64_t max_csv_rows = 100000;
  // Column names that identify persons (lower case).
  std::set<std::string> identifier_columns = {"person_id",  "patient_id", "nhs_number",
                                              "chi_number", "person_key", "subject_id"};
};

// A script output: the hard gates, then declared tables checked by the
// rules (spec/releases.md, "Files"): "*.counts.csv" cell by cell, its totals
// too (which must be the sums of its cells); "*.magnitude.csv" on its
// contributions, the file then becoming the `statistic` of each cell (the
// contributions never leave). Any other file's verdict is "review".
CandidateFile ScriptFile(const std::string& name, std::string bytes, const HardGates& gates,
                         const disclosure::Policy& policy,
                         trenode::v1::MagnitudeStatistic statistic =
                             trenode::v1::MAGNITUDE_STATISTIC_UNSPECIFIED);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_RELEASE_FILES_H_
