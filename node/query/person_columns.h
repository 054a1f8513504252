// The values of one dataset version's few-valued person columns, read once
// with its person codes and kept by rowid, each value as a small number into
// the column's list of distinct values (as SQLite held them: NULL, integer,
// real or text). A count or cross-tabulation of every person by such columns
// (and ages from an INTEGER year of birth) is then found by placing each
// distinct value in its category once and each person by lookup, with no
// pass over the dataset file (node/query/runner.cc): the speed of a columnar
// engine, with the same persons behind each cell. Immutable once read;
// thread-safe.
#ifndef TRENODE_NODE_QUERY_PERSON_COLUMNS_H_
#define TRENODE_NODE_QUERY_PERSON_COLUMNS_H_

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/storage/sqlite.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::query {

// A value as SQLite held it: NULL, integer, real or text.
using StoredValue = std::variant<std::monostate, int64_t, double, std::string>;

// Column `column` of the row `row` is on, as SQLite holds it.
StoredValue ReadStoredValue(const storage::SqliteStatement& row, int column);

class PersonColumns {
 public:
  // A column with at most kMaxDistinct distinct values is kept.
  static constexpr size_t kMaxDistinct = 4096;

  struct Column {
    std::vector<StoredValue> values;  // distinct, in the order first met
    // By rowid: the index of the row's value in `values`; rowids with no
    // person row hold 0 (the caller knows them from the person codes).
    std::vector<uint16_t> value_of_row;
  };

  PersonColumns() = default;

  // Reads the INTEGER, REAL and TEXT columns of `dataset`'s person table
  // (never its person key) from the file at `path`, keeping those with few
  // distinct values. InvalidArgument if the dataset has no person table;
  // the file's errors as they are.
  static absl::StatusOr<PersonColumns> Read(const trenode::v1::Dataset& dataset,
                                            const std::string& path);

  // The column of the person table named `name` if it was kept, else null.
  const Column* Find(absl::string_view name) const;

 private:
  std::map<std::string, Column, std::less<>> columns_;
};

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_PERSON_COLUMNS_H_
