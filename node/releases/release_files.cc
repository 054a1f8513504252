#include "node/releases/release_files.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "adapters/memory/memory_object_store.h"
#include "node/common/status_macros.h"
#include "node/disclosure/acro_results.h"
#include "node/ingest/csv_reader.h"
#include "node/releases/table_csv.h"

namespace trenode::releases {
using disclosure::Table;
using disclosure::TableVerdict;
using disclosure::Verdict;
namespace {

struct CsvShape {
  std::vector<std::string> header;
  int64_t rows = 0;  // records after the header, blank lines not counted
};

// `bytes` read with the node's one CSV reader, or why they are not CSV.
absl::StatusOr<CsvShape> ShapeOf(const std::string& bytes, const std::string& name) {
  adapters::MemoryObjectStore memory;
  RETURN_IF_ERROR(adapters::WriteObject(memory, "file.csv", bytes));
  ASSIGN_OR_RETURN(std::unique_ptr<adapters::ObjectReader> input, memory.OpenRead("file.csv"));
  ingest::CsvReader csv(std::move(input), name);
  ingest::CsvRecord record;
  CsvShape shape;
  bool header = true;
  while (true) {
    ASSIGN_OR_RETURN(bool more, csv.Next(record));
    if (!more) return shape;
    if (record.blank) continue;
    if (header) {
      shape.header = record.fields;
      header = false;
    } else {
      ++shape.rows;
    }
  }
}

}  // namespace

CandidateFile ScriptFile(const std::string& name, std::string bytes, const HardGates& gates,
                         const disclosure::Policy& policy) {
  std::vector<std::string> failures;
  size_t dot = name.rfind('.');
  std::string extension =
      dot == std::string::npos ? "" : absl::AsciiStrToLower(name.substr(dot + 1));
  if (!gates.extensions.contains(extension)) {
    failures.push_back(absl::StrCat("files of type \"", extension, "\" may not leave (allowed: ",
                                    absl::StrJoin(gates.extensions, ", "), ")"));
  }
  if (static_cast<int64_t>(bytes.size()) > gates.max_file_bytes) {
    failures.push_back(absl::StrCat("larger than the limit of ", gates.max_file_bytes, " bytes"));
  }
  Verdict verdict = Verdict::kReview;
  std::string summary = "review; not checked automatically: an output checker must judge it";
  Table checked_table;
  TableVerdict checked_verdict;
  checked_verdict.verdict = Verdict::kReview;
  if (extension == "csv") {
    // Read as checkers' tools and the table rules read it: RFC 4180, with
    // quoted fields and any line ending.
    absl::StatusOr<CsvShape> shape = ShapeOf(bytes, name);
    if (!shape.ok()) {
      failures.push_back(
          absl::StrCat("not well-formed CSV (RFC 4180): ", shape.status().message()));
    } else {
      if (shape->rows > gates.max_csv_rows) {
        // Not how many: a row count is the job's (and the data's) to choose.
        failures.push_back(absl::StrCat("more rows than the limit of ", gates.max_csv_rows));
      }
      for (std::string column : shape->header) {
        column = absl::AsciiStrToLower(absl::StripAsciiWhitespace(column));
        if (gates.identifier_columns.contains(column)) {
          failures.push_back(
              absl::StrCat("column \"", column, "\" looks like a person identifier"));
        }
      }
    }
    bool counts = absl::EndsWith(name, ".counts.csv");
    if ((counts || absl::EndsWith(name, ".magnitude.csv")) && failures.empty()) {
      absl::StatusOr<Table> table = ParseTableCsv(bytes, !counts, name);
      if (!table.ok()) {
        failures.push_back(absl::StrCat("declared a ", counts ? "counts" : "magnitude",
                                        " table but is not one: ", table.status().message()));
      } else {
        checked_verdict = disclosure::CheckTable(*table, policy);
        verdict = checked_verdict.verdict;
        summary = disclosure::Summary(checked_verdict);
        checked_table = *std::move(table);
      }
    }
  }
  CandidateFile file = FinishFile(name, std::move(bytes), failures.empty() ? verdict : Verdict::kFail,
                              failures.empty() ? summary : "fail; a hard gate failed",
                              RulesOf(checked_verdict));
  if (!failures.empty()) {
    file.meta.set_requester_summary(
        absl::StrCat("failed a hard gate: ", absl::StrJoin(failures, "; ")));
  }
  for (std::string& failure : failures) file.meta.add_gate_failures(std::move(failure));
  if (!failures.empty()) checked_verdict.verdict = Verdict::kFail;
  file.table = std::move(checked_table);
  file.checked = std::move(checked_verdict);
  return file;
}

}  // namespace trenode::releases
