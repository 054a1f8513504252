// results.json in the shape the ACRO/SACRO output-checking tools read
// (spec/disclosure.md, "results.json"): per output its status (pass, fail,
// review), per rule the summary count and the [row, column] of each cell,
// a per-cell outcome table and a one-line summary.
#ifndef TRENODE_NODE_DISCLOSURE_ACRO_RESULTS_H_
#define TRENODE_NODE_DISCLOSURE_ACRO_RESULTS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "node/disclosure/table.h"

namespace trenode::disclosure {

struct CheckedOutput {
  std::string uid;        // e.g. "output_0"
  std::string method;     // e.g. "crosstab", "table", "regression"
  std::string file_name;  // the output's file, e.g. "output_0.csv"
  const Table* table;
  const TableVerdict* verdict;
  bool suppressed = false;  // protected cells were suppressed, redacted or rounded
};

// "fail; threshold: 4 cells may need suppressing; zeros: 3 cells may need
// suppressing; " (ACRO's phrasing), or "pass; ".
std::string Summary(const TableVerdict& verdict);

std::string AcroResultsJson(const std::vector<CheckedOutput>& outputs, absl::Time now);

// One file as the requester may know it: its status and a summary in words.
struct FileStatus {
  std::string uid;
  std::string method;
  std::string file_name;
  std::string status;   // "pass", "review" or "fail"
  std::string summary;  // words only: no cells, labels or counts of cells
};

// The same results.json shape with file-level results only: no "sdc" cell
// lists and an empty "outcome", for the requester of a released file.
std::string FileLevelResultsJson(const std::vector<FileStatus>& files, absl::Time now);

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_ACRO_RESULTS_H_
