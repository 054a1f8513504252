// The rows of a query's passes as the runner reads them: each statement
// column from the statement, or, for a column derived from one person column
// the node keeps in memory (CompiledQuery::derived), from that column's value
// evaluated once per distinct value by SQLite itself, so that a pass need not
// read the person table's rows and every value is the one the statement
// would have given.
#ifndef TRENODE_NODE_QUERY_PASS_ROW_H_
#define TRENODE_NODE_QUERY_PASS_ROW_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/query/compiler.h"
#include "node/query/person_columns.h"
#include "node/storage/sqlite.h"

namespace trenode::query {

// Every derived column's value for each distinct value of its person column.
class DerivedValues {
 public:
  // Nullopt if some derived column's person column is not kept for every
  // rowid below `rowid_end` (the passes then read every column from SQL).
  // Internal if SQLite cannot evaluate an expression.
  static absl::StatusOr<std::optional<DerivedValues>> Evaluate(
      const std::vector<DerivedColumn>& derived, const PersonColumns& columns, int64_t rowid_end);

  // Sets overlay[c] to the value of rowid's derived column c (overlay has a
  // slot for every statement column; the others are left as they are).
  void Fill(int64_t rowid, std::vector<const StoredValue*>& overlay) const {
    for (const Column& column : columns_) {
      overlay[column.statement_column] = &column.values[(*column.value_of_row)[rowid]];
    }
  }
  // The slots overlay needs: one past the largest derived column.
  size_t slots() const { return slots_; }

 private:
  struct Column {
    int statement_column = 0;
    const std::vector<uint16_t>* value_of_row = nullptr;
    std::vector<StoredValue> values;  // by the person column's value index
  };
  std::vector<Column> columns_;
  size_t slots_ = 0;
};

// One row of a pass: the statement's values, those with a non-null overlay
// slot read from there (with no statement, every other column is NULL).
class PassRow {
 public:
  using ValueType = storage::SqliteStatement::ValueType;

  PassRow(const storage::SqliteStatement* statement, const std::vector<const StoredValue*>* overlay)
      : statement_(statement), overlay_(overlay) {}

  ValueType TypeOf(int column) const;
  bool IsNull(int column) const { return TypeOf(column) == ValueType::kNull; }
  int64_t Int64(int column) const;
  double Double(int column) const;
  absl::string_view TextView(int column) const;

 private:
  const StoredValue* Overlaid(int column) const {
    if (overlay_ == nullptr || static_cast<size_t>(column) >= overlay_->size()) return nullptr;
    return (*overlay_)[column];
  }
  const storage::SqliteStatement* statement_;  // may be null
  const std::vector<const StoredValue*>* overlay_;
};

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_PASS_ROW_H_
