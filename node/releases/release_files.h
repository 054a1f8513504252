// The files a release offers, built from an analysis's outputs, each with its
// automated verdict (spec/releases.md, "Files"): aggregate results become CSV
// tables, counts suppressed and audited; script outputs pass hard gates and,
// when they declare a kind, the disclosure rules.
#ifndef TRENODE_NODE_RELEASES_RELEASE_FILES_H_
#define TRENODE_NODE_RELEASES_RELEASE_FILES_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/disclosure/policy.h"
#include "node/disclosure/table.h"
#include "trenode/v1/query.pb.h"
#include "trenode/v1/releases.pb.h"

namespace trenode::releases {

struct CandidateFile {
  trenode::v1::ReleaseFile meta;  // name, size, sha256, verdict, gates
  std::string bytes;
  // What the rules found, cell by cell, before any suppression (for
  // results.json); empty for files the rules cannot read.
  disclosure::Table table;
  disclosure::TableVerdict checked;
  bool suppressed = false;  // cells were suppressed, redacted or rounded
};

struct HardGates {
  std::set<std::string> extensions = {"csv", "txt", "json"};
  int64_t max_file_bytes = int64_t{10} << 20;
  int64_t max_csv_rows = 100000;
  // Column names that identify persons (lower case).
  std::set<std::string> identifier_columns = {"person_id",  "patient_id", "nhs_number",
                                              "chi_number", "person_key", "subject_id"};
};

// One CSV per result table ("<output>.csv"): counts and cross-tabulations
// with failing cells suppressed (and complementary ones) and the audit's
// verdict; summaries checked as magnitude tables; regressions by residual
// degrees of freedom.
std::vector<CandidateFile> AggregateFiles(const trenode::v1::AggregateResult& result,
                                          const disclosure::Policy& policy);

// A script output: the hard gates, then "*.counts.csv" files checked as
// counts tables; any other file's verdict is "review".
CandidateFile ScriptFile(const std::string& name, std::string bytes, const HardGates& gates,
                         const disclosure::Policy& policy);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_RELEASE_FILES_H_
