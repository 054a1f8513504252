#include "node/query/pass_row.h"

#include <algorithm>
#include <cstdlib>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "node/catalogue/column_sql_type.h"
#include "node/common/status_macros.h"
#include "node/query/bind_params.h"

namespace trenode::query {
namespace {
using storage::SqliteDb;
using storage::SqliteStatement;

std::string Quoted(absl::string_view name) {
  return absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
}

absl::Status Unevaluated(const DerivedColumn& derived, absl::string_view why) {
  return absl::InternalError(absl::StrCat("a value of person column ", derived.person_column,
                                          " could not be evaluated: ", why));
}

}  // namespace

absl::StatusOr<std::optional<DerivedValues>> DerivedValues::Evaluate(
    const std::vector<DerivedColumn>& derived, const PersonColumns& columns, int64_t rowid_end) {
  DerivedValues values;
  if (derived.empty()) return values;
  for (const DerivedColumn& each : derived) {
    const PersonColumns::Column* kept = columns.Find(each.person_column);
    if (kept == nullptr || static_cast<int64_t>(kept->value_of_row.size()) < rowid_end) {
      return std::nullopt;
    }
  }
  // Each expression over a one-column table "p" of the column's distinct
  // values, declared as the dataset declares it: the same affinities, the
  // same SQLite, the same values.
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(":memory:"));
  for (const DerivedColumn& each : derived) {
    const PersonColumns::Column* kept = columns.Find(each.person_column);
    const std::string column = Quoted(each.person_column);
    RETURN_IF_ERROR(db->Exec("DROP TABLE IF EXISTS p"));
    RETURN_IF_ERROR(db->Exec(absl::StrCat("CREATE TABLE p (i INTEGER PRIMARY KEY, ", column, " ",
                                          catalogue::ColumnSqlType(each.type), ")")));
    ASSIGN_OR_RETURN(SqliteStatement insert,
                     db->Prepare(absl::StrCat("INSERT INTO p (i, ", column, ") VALUES (?, ?)")));
    for (size_t i = 0; i < kept->values.size(); ++i) {
      insert.Reset();
      insert.Bind(1, static_cast<int64_t>(i));
      std::visit(
          [&](const auto& value) {
            if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::monostate>) {
              insert.BindNull(2);
            } else {
              insert.Bind(2, value);
            }
          },
          kept->values[i]);
      RETURN_IF_ERROR(insert.Run());
    }
    absl::StatusOr<SqliteStatement> select =
        db->Prepare(absl::StrCat("SELECT i, ", each.sql.sql, " FROM p ORDER BY i"));
    if (!select.ok()) return Unevaluated(each, select.status().message());
    if (absl::Status bound = BindParams(*select, each.sql.params); !bound.ok()) {
      return Unevaluated(each, bound.message());
    }
    Column evaluated;
    evaluated.statement_column = each.column;
    evaluated.value_of_row = &kept->value_of_row;
    while (true) {
      absl::StatusOr<bool> row = select->Step();
      if (!row.ok()) return Unevaluated(each, row.status().message());
      if (!*row) break;
      evaluated.values.push_back(ReadStoredValue(*select, 1));
    }
    if (evaluated.values.size() != kept->values.size()) return Unevaluated(each, "rows were lost");
    values.slots_ = std::max(values.slots_, static_cast<size_t>(each.column) + 1);
    values.columns_.push_back(std::move(evaluated));
  }
  return values;
}

PassRow::ValueType PassRow::TypeOf(int column) const {
  const StoredValue* value = Overlaid(column);
  if (value == nullptr) return statement_ ? statement_->TypeOf(column) : ValueType::kNull;
  switch (value->index()) {
    case 0:
      return ValueType::kNull;
    case 1:
      return ValueType::kInteger;
    case 2:
      return ValueType::kReal;
    default:
      return ValueType::kText;
  }
}

int64_t PassRow::Int64(int column) const {
  const StoredValue* value = Overlaid(column);
  if (value == nullptr) return statement_ ? statement_->Int64(column) : 0;
  if (const auto* i = std::get_if<int64_t>(value)) return *i;
  if (const auto* d = std::get_if<double>(value)) return static_cast<int64_t>(*d);
  return 0;
}

double PassRow::Double(int column) const {
  const StoredValue* value = Overlaid(column);
  if (value == nullptr) return statement_ ? statement_->Double(column) : 0;
  if (const auto* d = std::get_if<double>(value)) return *d;
  if (const auto* i = std::get_if<int64_t>(value)) return static_cast<double>(*i);
  // Text as SQLite reads a number from it: its leading number, else 0.
  if (const auto* s = std::get_if<std::string>(value)) return std::strtod(s->c_str(), nullptr);
  return 0;
}

absl::string_view PassRow::TextView(int column) const {
  const StoredValue* value = Overlaid(column);
  if (value == nullptr) return statement_ ? statement_->TextView(column) : absl::string_view();
  if (const auto* s = std::get_if<std::string>(value)) return *s;
  return {};
}

}  // namespace trenode::query
