#include "node/ingest/column_types.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace trenode::ingest {
namespace {
using trenode::v1::ColumnType;

bool IsDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}
}  // namespace

std::optional<int64_t> ParseInteger(absl::string_view cell) {
  absl::string_view digits = cell;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
  int64_t value;
  if (!IsDigits(digits) || !absl::SimpleAtoi(cell, &value)) return std::nullopt;
  return value;
}

std::optional<double> ParseReal(absl::string_view cell) {
  // Only [sign] digits [. digits] [e [sign] digits], at least one digit.
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < cell.size() && absl::ascii_isdigit(static_cast<unsigned char>(cell[i]))) ++i;
    return i - start;
  };
  if (i < cell.size() && (cell[i] == '-' || cell[i] == '+')) ++i;
  size_t mantissa = digits();
  if (i < cell.size() && cell[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return std::nullopt;
  if (i < cell.size() && (cell[i] == 'e' || cell[i] == 'E')) {
    ++i;
    if (i < cell.size() && (cell[i] == '-' || cell[i] == '+')) ++i;
    if (digits() == 0) return std::nullopt;
  }
  double value;
  if (i != cell.size() || !absl::SimpleAtod(cell, &value) || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

bool IsIsoDate(absl::string_view cell) {
  if (cell.size() != 10 || cell[4] != '-' || cell[7] != '-') return false;
  int year, month, day;
  if (!IsDigits(cell.substr(0, 4)) || !IsDigits(cell.substr(5, 2)) ||
      !IsDigits(cell.substr(8, 2)) || !absl::SimpleAtoi(cell.substr(0, 4), &year) ||
      !absl::SimpleAtoi(cell.substr(5, 2), &month) || !absl::SimpleAtoi(cell.substr(8, 2), &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= days;
}

bool Fits(absl::string_view cell, ColumnType type) {
  if (cell.empty()) return true;
  switch (type) {
    case trenode::v1::COLUMN_TYPE_INTEGER:
      return ParseInteger(cell).has_value();
    case trenode::v1::COLUMN_TYPE_REAL:
      return ParseReal(cell).has_value();
    case trenode::v1::COLUMN_TYPE_DATE:
      return IsIsoDate(cell);
    case trenode::v1::COLUMN_TYPE_TEXT:
      return true;
    default:
      return false;
  }
}

void TypeInference::Observe(absl::string_view cell) {
  if (cell.empty()) return;
  any_ = true;
  if (integer_ && !ParseInteger(cell)) integer_ = false;
  if (real_ && !ParseReal(cell)) real_ = false;
  if (date_ && !IsIsoDate(cell)) date_ = false;
}

ColumnType TypeInference::Result() const {
  if (!any_) return trenode::v1::COLUMN_TYPE_TEXT;
  if (integer_) return trenode::v1::COLUMN_TYPE_INTEGER;
  if (real_) return trenode::v1::COLUMN_TYPE_REAL;
  if (date_) return trenode::v1::COLUMN_TYPE_DATE;
  return trenode::v1::COLUMN_TYPE_TEXT;
}

std::string Describe(ColumnType type) {
  switch (type) {
    case trenode::v1::COLUMN_TYPE_INTEGER:
      return "an integer";
    case trenode::v1::COLUMN_TYPE_REAL:
      return "a number";
    case trenode::v1::COLUMN_TYPE_DATE:
      return "a date (YYYY-MM-DD)";
    case trenode::v1::COLUMN_TYPE_TEXT:
      return "text";
    default:
      return "of an unknown type";
  }
}

}  // namespace trenode::ingest
