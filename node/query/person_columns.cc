#include "node/query/person_columns.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/common/status_macros.h"
#include "node/storage/sqlite.h"

namespace trenode::query {
namespace {
using storage::SqliteStatement;
using ValueType = SqliteStatement::ValueType;

std::string Quote(absl::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// One column as it is read: its distinct values found by type, so that 1,
// 1.0 and "1" stay apart as SQLite keeps them.
class ColumnReader {
 public:
  ColumnReader(std::string name, int column) : name_(std::move(name)), column_(column) {}

  void Add(const SqliteStatement& row, int64_t rowid) {
    if (!kept_) return;
    std::optional<uint16_t> index;
    switch (row.TypeOf(column_)) {
      case ValueType::kNull:
        if (!null_) null_ = NewValue(StoredValue());
        index = null_;
        break;
      case ValueType::kInteger: {
        int64_t number = row.Int64(column_);
        auto found = integers_.find(number);
        index = found != integers_.end() ? std::optional<uint16_t>(found->second)
                                         : NewValue(number);
        if (index && found == integers_.end()) integers_.emplace(number, *index);
        break;
      }
      case ValueType::kReal: {
        double number = row.Double(column_);
        uint64_t bits;
        std::memcpy(&bits, &number, sizeof(bits));
        auto found = reals_.find(bits);
        index = found != reals_.end() ? std::optional<uint16_t>(found->second) : NewValue(number);
        if (index && found == reals_.end()) reals_.emplace(bits, *index);
        break;
      }
      default: {
        absl::string_view text = row.TextView(column_);
        auto found = texts_.find(text);
        index = found != texts_.end() ? std::optional<uint16_t>(found->second)
                                      : NewValue(std::string(text));
        if (index && found == texts_.end()) texts_.emplace(std::string(text), *index);
        break;
      }
    }
    if (!index) return;  // too many values: the column is not kept
    if (static_cast<size_t>(rowid) >= column_values_.value_of_row.size()) {
      column_values_.value_of_row.resize(2 * (static_cast<size_t>(rowid) + 1), 0);
    }
    column_values_.value_of_row[rowid] = *index;
  }

  // The column, if it was kept, sized to `rows` rowids.
  std::optional<PersonColumns::Column> Finish(size_t rows) {
    if (!kept_) return std::nullopt;
    column_values_.value_of_row.resize(rows, 0);
    column_values_.value_of_row.shrink_to_fit();
    return std::move(column_values_);
  }

  const std::string& name() const { return name_; }

 private:
  // The index of a value met for the first time; nullopt, and the column
  // given up, past kMaxDistinct values.
  std::optional<uint16_t> NewValue(StoredValue value) {
    if (column_values_.values.size() >= PersonColumns::kMaxDistinct) {
      kept_ = false;
      column_values_ = {};
      integers_ = {};
      reals_ = {};
      texts_ = {};
      return std::nullopt;
    }
    column_values_.values.push_back(std::move(value));
    return static_cast<uint16_t>(column_values_.values.size() - 1);
  }

  std::string name_;
  int column_;
  bool kept_ = true;
  std::optional<uint16_t> null_;
  absl::flat_hash_map<int64_t, uint16_t> integers_;
  absl::flat_hash_map<uint64_t, uint16_t> reals_;  // by bits
  absl::flat_hash_map<std::string, uint16_t> texts_;
  PersonColumns::Column column_values_;
};

}  // namespace

absl::StatusOr<PersonColumns> PersonColumns::Read(const trenode::v1::Dataset& dataset,
                                                  const std::string& path) {
  std::string person_table = dataset.person_table().empty() ? "person" : dataset.person_table();
  const trenode::v1::Table* table = nullptr;
  for (const trenode::v1::Table& candidate : dataset.tables()) {
    if (candidate.name() == person_table) table = &candidate;
  }
  if (table == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("dataset ", dataset.id(), " has no person table"));
  }
  std::vector<ColumnReader> readers;
  std::vector<std::string> selected = {"rowid"};
  for (const trenode::v1::Column& column : table->columns()) {
    if (column.is_person_key()) continue;
    if (column.type() != trenode::v1::COLUMN_TYPE_INTEGER &&
        column.type() != trenode::v1::COLUMN_TYPE_REAL &&
        column.type() != trenode::v1::COLUMN_TYPE_TEXT) {
      continue;
    }
    readers.emplace_back(column.name(), static_cast<int>(selected.size()));
    selected.push_back(Quote(column.name()));
  }
  PersonColumns columns;
  if (readers.empty()) return columns;
  ASSIGN_OR_RETURN(auto db, storage::SqliteDb::Open(path, storage::SqliteDb::Mode::kReadOnly));
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->Prepare(absl::StrCat("SELECT ", absl::StrJoin(selected, ", "), " FROM ",
                                            Quote(person_table), " ORDER BY rowid")));
  int64_t last = 0, rows = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    const int64_t rowid = select.Int64(0);
    // Rowids far apart would make the columns mostly gaps; queries over
    // such a file read it as they always did.
    if (rowid < 0 || rowid > 2 * rows + 1024) return PersonColumns();
    last = std::max(last, rowid);
    ++rows;
    for (ColumnReader& reader : readers) reader.Add(select, rowid);
  }
  for (ColumnReader& reader : readers) {
    std::optional<Column> kept = reader.Finish(static_cast<size_t>(last) + 1);
    if (kept) columns.columns_.emplace(reader.name(), *std::move(kept));
  }
  return columns;
}

const PersonColumns::Column* PersonColumns::Find(absl::string_view name) const {
  auto found = columns_.find(name);
  return found == columns_.end() ? nullptr : &found->second;
}

StoredValue ReadStoredValue(const SqliteStatement& row, int column) {
  switch (row.TypeOf(column)) {
    case SqliteStatement::ValueType::kNull:
      return std::monostate{};
    case SqliteStatement::ValueType::kInteger:
      return row.Int64(column);
    case SqliteStatement::ValueType::kReal:
      return row.Double(column);
    default:
      return row.Text(column);
  }
}

}  // namespace trenode::query
