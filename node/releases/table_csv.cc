#include "node/releases/table_csv.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/memory/memory_object_store.h"
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
                                    const std::string& path) {
  adapters::MemoryObjectStore memory;
  if (absl::Status written = adapters::WriteObject(memory, "table.csv", text); !written.ok()) {
    return written;
  }
  auto reader = memory.OpenRead("table.csv");
  if (!reader.ok()) return reader.status();
  ingest::CsvReader csv(std::move(reader).value(), path);
  ingest::CsvRecord record;
  Table table;
  std::map<std::string, int64_t> row_lines;  // each row label's line
  bool header = true;
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
      // Cells are known by their labels (results.json keys its outcomes by
      // them), so a label may not stand for two rows or two columns.
      std::set<absl::string_view> columns;
      for (const std::string& label : table.column_labels) {
        if (!columns.insert(label).second) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, " line ", record.line, ": column \"", label, "\" appears twice"));
        }
      }
      header = false;
      continue;
    }
    if (record.fields.size() != table.column_labels.size() + 1) {
      return absl::InvalidArgumentError(absl::StrCat(path, " line ", record.line, ": ",
                                                     record.fields.size(), " fields, expected ",
                                                     table.column_labels.size() + 1));
    }
    if (record.fields[0] == "Total") continue;  // the margin
    if (auto [seen, added] = row_lines.emplace(record.fields[0], record.line); !added) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", record.line, ": row \"", record.fields[0],
                       "\" appears twice (also line ", seen->second, ")"));
    }
    table.row_labels.push_back(record.fields[0]);
    for (size_t i = 1; i < record.fields.size(); ++i) {
      const std::string& field = record.fields[i];
      auto where = [&] {
        return absl::StrCat(path, " line ", record.line, " column ", table.column_labels[i - 1],
                            ": ");
      };
      if (!magnitude) {
        int64_t count;
        if (!absl::SimpleAtoi(field, &count) || count < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(where(), "\"", field, "\" is not a count (a whole number >= 0)"));
        }
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
  }
  if (table.row_labels.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, " has no rows"));
  return table;
}

}  // namespace trenode::releases
