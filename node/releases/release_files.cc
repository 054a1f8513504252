#include "node/releases/release_files.h"

#include <cmath>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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
  std::optional<double> smallest;  // the smallest field that is a number
};

std::string FormatNumber(double value) { return absl::StrFormat("%.6g", value); }

// `bytes` read with the node's one CSV reader, or why they are not CSV.
absl::StatusOr<CsvShape> ShapeOf(const std::string& bytes, const std::string& name) {
  ingest::CsvReader csv = ingest::CsvReaderOf(bytes, name);
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
      for (const std::string& field : record.fields) {
        double value;
        if (absl::SimpleAtod(field, &value) && std::isfinite(value) &&
            (!shape.smallest || value < *shape.smallest)) {
          shape.smallest = value;
        }
      }
    }
  }
}

// `table` (a counts table's cells) with the totals its file gave, as a
// Total column and a Total row, so that the rules judge them too.
Table WithTotals(Table table, GivenTotals given) {
  const bool total_row = given.row, total_column = given.column;
  if (!total_row && !total_column) return table;
  const size_t rows = table.row_labels.size(), columns = table.column_labels.size();
  Table full;
  full.row_labels = table.row_labels;
  full.column_labels = table.column_labels;
  if (total_row) full.row_labels.push_back(kTotal);
  if (total_column) full.column_labels.push_back(kTotal);
  auto count = [](int64_t n) {
    disclosure::CellFacts cell;
    cell.contributors = n;
    return cell;
  };
  std::vector<int64_t> column_sums(columns);
  int64_t grand = 0;
  for (size_t r = 0; r < rows; ++r) {
    int64_t row_sum = 0;
    for (size_t c = 0; c < columns; ++c) {
      const disclosure::CellFacts& cell = table.cells[r * columns + c];
      full.cells.push_back(cell);
      row_sum += cell.contributors;
      column_sums[c] += cell.contributors;
    }
    if (total_column) full.cells.push_back(count(row_sum));
    grand += row_sum;
  }
  if (total_row) {
    for (size_t c = 0; c < columns; ++c) full.cells.push_back(count(column_sums[c]));
    if (total_column) full.cells.push_back(count(grand));
  }
  return full;
}

// Millionths as a decimal with at most 6 places: "12.5", "-3", "0.000001".
std::string Decimal(int64_t millionths) {
  std::string sign = millionths < 0 ? "-" : "";
  uint64_t magnitude = millionths < 0 ? -static_cast<uint64_t>(millionths) : millionths;
  std::string text = absl::StrCat(sign, magnitude / 1000000);
  uint64_t fraction = magnitude % 1000000;
  if (fraction == 0) return text;
  std::string digits = absl::StrFormat("%06d", fraction);
  while (digits.back() == '0') digits.pop_back();
  return absl::StrCat(text, ".", digits);
}

// The declared statistic of each cell of a magnitude table, as CSV with the
// table's labels; empty for a cell with no contributions. Means are rounded
// to 6 decimal places, halves away from zero.
std::string AggregateCsv(const Table& table, const std::string& row_variable,
                         trenode::v1::MagnitudeStatistic statistic) {
  const bool mean = statistic == trenode::v1::MAGNITUDE_STATISTIC_MEAN;
  std::vector<std::string> header = {row_variable};
  for (const std::string& label : table.column_labels) {
    header.push_back(absl::StrCat(label, mean ? " (mean)" : " (sum)"));
  }
  std::string csv = CsvLine(header);
  const size_t columns = table.column_labels.size();
  for (size_t r = 0; r < table.row_labels.size(); ++r) {
    std::vector<std::string> fields = {table.row_labels[r]};
    for (size_t c = 0; c < columns; ++c) {
      const disclosure::CellFacts& cell = table.cells[r * columns + c];
      if (cell.contributors == 0) {
        fields.push_back("");
      } else if (!mean) {
        fields.push_back(Decimal(cell.total));
      } else {
        int64_t quotient = cell.total / cell.contributors;
        int64_t remainder = cell.total % cell.contributors;
        if (2 * (remainder < 0 ? -remainder : remainder) >= cell.contributors) {
          quotient += cell.total < 0 ? -1 : 1;
        }
        fields.push_back(Decimal(quotient));
      }
    }
    csv += CsvLine(fields);
  }
  return csv;
}

}  // namespace

CandidateFile ScriptFile(const std::string& name, std::string bytes, const HardGates& gates,
                         const disclosure::Policy& policy,
                         trenode::v1::MagnitudeStatistic statistic) {
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
    if (shape.ok() && shape->header.empty()) shape = absl::InvalidArgumentError("no header");
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
    bool declared = counts || absl::EndsWith(name, ".magnitude.csv");
    if (declared && failures.empty()) {
      GivenTotals totals;
      absl::StatusOr<Table> table = ParseTableCsv(bytes, !counts, name, &totals);
      if (!table.ok()) {
        failures.push_back(absl::StrCat("declared a ", counts ? "counts" : "magnitude",
                                        " table but is not one: ", table.status().message()));
      } else {
        if (counts) {
          // Every number that leaves is judged: the totals too.
          *table = WithTotals(*std::move(table), totals);
        } else {
          // What leaves is the aggregate the rules judged, never the
          // contributions (they stay with the analysis).
          bytes = AggregateCsv(*table, shape->header[0], statistic);
        }
        checked_verdict = disclosure::CheckTable(*table, policy);
        verdict = checked_verdict.verdict;
        summary = disclosure::Summary(checked_verdict);
        checked_table = *std::move(table);
      }
    } else if (!declared && shape.ok()) {
      summary = absl::StrCat("review; not checked automatically (not declared *.counts.csv or "
                             "*.magnitude.csv): ",
                             shape->rows, " rows, ", shape->header.size(), " columns",
                             shape->smallest ? absl::StrCat(", smallest number ",
                                                            FormatNumber(*shape->smallest))
                                             : ", no numbers",
                             "; an output checker must judge it");
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
