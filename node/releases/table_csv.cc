#include "node/releases/table_csv.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"
#include "node/ingest/csv_reader.h"

namespace trenode::releases {
namespace {
using disclosure::CellFacts;
using disclosure::Table;

// Contributions are kept in millionths, so decimals compare exactly.
constexpr int kScaleDigits = 6;

absl::StatusOr<int64_t> ParseScaled(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.empty() || parts.size() > 2 || parts[0].empty() ||
      (parts.size() == 2 && (parts[1].empty() || parts[1].size() > kScaleDigits))) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a number with at most ",
                                                   kScaleDigits, " decimal places"));
  }
  std::string digits =
      absl::StrCat(parts[0], parts.size() == 2 ? parts[1] : "",
                   std::string(kScaleDigits - (parts.size() == 2 ? parts[1].size() : 0), '0'));
  int64_t value;
  if (!std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a number"));
  }
  return negative ? -value : value;
}

}  // namespace

absl::StatusOr<Table> ParseTableCsv(absl::string_view text, bool magnitude,
                                    const std::string& path, GivenTotals* totals) {
  ingest::CsvReader csv = ingest::CsvReaderOf(text, path);
  ingest::CsvRecord record;
  Table table;
  std::map<std::string, int64_t> row_lines;  // each row label's line
  bool header = true;
  bool total_column = false;      // the header's last column is "Total"
  std::optional<std::vector<int64_t>> total_row;  // the "Total" row, column by column
  int64_t total_row_line = 0;
  std::vector<int64_t> row_totals;  // the "Total" column, row by row
  std::vector<int64_t> row_total_lines;
  auto refuse_totals = [&](int64_t line) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " line ", line,
        ": a magnitude table lists each cell's contributions; leave out totals, the node "
        "publishes the aggregates it checked"));
  };
  auto count_of = [&](const std::string& field, int64_t line,
                      const std::string& column) -> absl::StatusOr<int64_t> {
    int64_t count;
    if (!absl::SimpleAtoi(field, &count) || count < 0) {
      return absl::InvalidArgumentError(absl::StrCat(path, " line ", line, " column ", column,
                                                     ": \"", field,
                                                     "\" is not a count (a whole number >= 0)"));
    }
    return count;
  };
  while (true) {
    absl::StatusOr<bool> more = csv.Next(record);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (record.blank) continue;
    if (header) {
      if (record.fields.size() < 2) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, " line 1: name the row variable and at least one column"));
      }
      table.column_labels.assign(record.fields.begin() + 1, record.fields.end());
      if (table.column_labels.back() == kTotal) {
        if (magnitude) return refuse_totals(record.line);
        if (table.column_labels.size() < 2) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, " line 1: a Total column needs columns to total"));
        }
        total_column = true;
        table.column_labels.pop_back();
      }
      // Cells are known by their labels (results.json keys its outcomes by
      // them), so a label may not stand for two rows or two columns.
      std::set<absl::string_view> columns;
      for (const std::string& label : table.column_labels) {
        if (!columns.insert(label).second || label == kTotal) {
          return absl::InvalidArgumentError(absl::StrCat(
              path, " line ", record.line, ": column \"", label, "\" appears twice",
              label == kTotal ? " or is a Total column that is not the last" : ""));
        }
      }
      header = false;
      continue;
    }
    const size_t width = table.column_labels.size() + 1 + (total_column ? 1 : 0);
    if (record.fields.size() != width) {
      return absl::InvalidArgumentError(absl::StrCat(path, " line ", record.line, ": ",
                                                     record.fields.size(), " fields, expected ",
                                                     width));
    }
    if (record.fields[0] == kTotal) {
      if (magnitude) return refuse_totals(record.line);
      if (total_row) {
        return absl::InvalidArgumentError(absl::StrCat(path, " line ", record.line,
                                                       ": a second Total row (also line ",
                                                       total_row_line, ")"));
      }
      total_row.emplace();
      total_row_line = record.line;
      for (size_t i = 1; i < record.fields.size(); ++i) {
        std::string column =
            i - 1 < table.column_labels.size() ? table.column_labels[i - 1] : kTotal;
        ASSIGN_OR_RETURN(int64_t count, count_of(record.fields[i], record.line, column));
        total_row->push_back(count);
      }
      continue;
    }
    if (auto [seen, added] = row_lines.emplace(record.fields[0], record.line); !added) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", record.line, ": row \"", record.fields[0],
                       "\" appears twice (also line ", seen->second, ")"));
    }
    table.row_labels.push_back(record.fields[0]);
    for (size_t i = 1; i <= table.column_labels.size(); ++i) {
      const std::string& field = record.fields[i];
      auto where = [&] {
        return absl::StrCat(path, " line ", record.line, " column ", table.column_labels[i - 1],
                            ": ");
      };
      if (!magnitude) {
        ASSIGN_OR_RETURN(int64_t count,
                               count_of(field, record.line, table.column_labels[i - 1]));
        CellFacts cell;
        cell.contributors = count;
        table.cells.push_back(cell);
        continue;
      }
      std::vector<int64_t> contributions;
      // The rules add contributions in 64 bits: their absolute values must
      // add up within it, in any order.
      int64_t absolute_total = 0;
      for (absl::string_view part : absl::StrSplit(field, ';', absl::SkipWhitespace())) {
        absl::StatusOr<int64_t> value = ParseScaled(part);
        if (!value.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(where(), value.status().message()));
        }
        if (__builtin_add_overflow(absolute_total, *value < 0 ? -*value : *value,
                                   &absolute_total)) {
          return absl::InvalidArgumentError(
              absl::StrCat(where(), "the contributions add up to more than 9223372036854.775807"));
        }
        contributions.push_back(*value);
      }
      table.cells.push_back(disclosure::MagnitudeFacts(contributions));
    }
    if (total_column) {
      ASSIGN_OR_RETURN(int64_t count,
                             count_of(record.fields.back(), record.line, kTotal));
      row_totals.push_back(count);
      row_total_lines.push_back(record.line);
    }
  }
  if (table.row_labels.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, " has no rows"));
  // Totals the file gives must be the sums of its cells: a total that is
  // not would publish a number no rule judged.
  const size_t columns = table.column_labels.size();
  auto cell = [&](size_t r, size_t c) { return table.cells[r * columns + c].contributors; };
  for (size_t r = 0; r < row_totals.size(); ++r) {
    int64_t sum = 0;
    for (size_t c = 0; c < columns; ++c) sum += cell(r, c);
    if (sum != row_totals[r]) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", row_total_lines[r], ": the Total column says ", row_totals[r],
          " for row \"", table.row_labels[r], "\", but its cells add up to ", sum));
    }
  }
  if (total_row) {
    int64_t grand = 0;
    for (size_t c = 0; c < columns; ++c) {
      int64_t sum = 0;
      for (size_t r = 0; r < table.row_labels.size(); ++r) sum += cell(r, c);
      grand += sum;
      if (sum != (*total_row)[c]) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, " line ", total_row_line, ": the Total row says ", (*total_row)[c],
            " for column \"", table.column_labels[c], "\", but its cells add up to ", sum));
      }
    }
    if (total_column) {
      if (total_row->back() != grand) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, " line ", total_row_line, ": the grand total says ",
                         total_row->back(), ", but the table's cells add up to ", grand));
      }
    }
  }
  if (totals != nullptr) *totals = {.row = total_row.has_value(), .column = total_column};
  return table;
}

}  // namespace trenode::releases
