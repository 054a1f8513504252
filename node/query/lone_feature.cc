#include "node/query/lone_feature.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "node/common/status_macros.h"

namespace trenode::query {
namespace {

template <typename T>
int Order(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// An integer against a real as SQLite compares them: exactly (a long double
// holds every 64-bit integer on this platform, as SQLite relies on).
int IntegerAgainstReal(int64_t i, double r) {
  static_assert(sizeof(long double) > sizeof(double), "long double must hold an int64_t");
  return Order(static_cast<long double>(i), static_cast<long double>(r));
}

}  // namespace

int CompareAsSqlite(const StoredValue& a, const StoredValue& b) {
  const auto* ai = std::get_if<int64_t>(&a);
  const auto* ar = std::get_if<double>(&a);
  const auto* bi = std::get_if<int64_t>(&b);
  const auto* br = std::get_if<double>(&b);
  const bool a_number = ai != nullptr || ar != nullptr;
  const bool b_number = bi != nullptr || br != nullptr;
  if (a_number && b_number) {
    if (ai && bi) return Order(*ai, *bi);
    if (ar && br) return Order(*ar, *br);
    return ai ? IntegerAgainstReal(*ai, *br) : -IntegerAgainstReal(*bi, *ar);
  }
  if (a_number != b_number) return a_number ? -1 : 1;
  const auto* at = std::get_if<std::string>(&a);
  const auto* bt = std::get_if<std::string>(&b);
  if (at && bt) return Order(*at, *bt);  // bytewise, as BINARY collation
  return Order(a.index(), b.index());    // NULLs (never in the rows) first
}

absl::StatusOr<bool> LoneFeatureReader::Next() {
  if (done_) return false;
  if (!on_next_) {
    ASSIGN_OR_RETURN(bool row, rows_.Step());
    if (!row) {
      done_ = true;
      return false;
    }
  }
  rowid_ = rows_.Int64(0);
  value_ = ReadStoredValue(rows_, 1);
  while (true) {
    ASSIGN_OR_RETURN(bool row, rows_.Step());
    if (!row) {
      done_ = true;
      on_next_ = false;
      return true;
    }
    const int64_t next = rows_.Int64(0);
    if (next != rowid_) {
      if (next < rowid_) {
        return absl::InternalError("a feature's rows came out of person order");
      }
      on_next_ = true;
      return true;
    }
    StoredValue value = ReadStoredValue(rows_, 1);
    const int order = CompareAsSqlite(value, value_);
    if (max_ ? order > 0 : order < 0) value_ = std::move(value);
  }
}

void LoneFeatureReader::Rewind() {
  rows_.Rewind();
  on_next_ = false;
  done_ = false;
}

}  // namespace trenode::query
