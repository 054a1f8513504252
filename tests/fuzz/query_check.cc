#include "tests/fuzz/query_check.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <variant>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "node/catalogue/column_sql_type.h"
#include "node/query/compiler.h"
#include "node/query/runner.h"
#include "node/synth/generator.h"
#include "tests/fuzz/fuzz_target.h"

namespace trenode::fuzz {
namespace {

using trenode::v1::Column;
using trenode::v1::Dataset;
using trenode::v1::Table;

Column* AddColumn(Table* table, const std::string& name, trenode::v1::ColumnType type, bool missing,
                  std::vector<std::string> categories = {}) {
  Column* column = table->add_columns();
  column->set_name(name);
  column->set_type(type);
  column->set_has_missing(missing);
  for (std::string& value : categories) column->add_categories(std::move(value));
  return column;
}

Table* FindTable(Dataset& dataset, const std::string& name) {
  for (Table& table : *dataset.mutable_tables()) {
    if (table.name() == name) return &table;
  }
  return nullptr;
}

Dataset MakeDataset() {
  Dataset dataset = synth::SiteMetadata({.seed = 7, .persons = 100});
  Table* person = FindTable(dataset, "person");
  for (Column& column : *person->mutable_columns()) {
    if (column.name() == "sex") {
      column.add_categories("F");
      column.add_categories("M");
    } else if (column.name() == "region") {
      for (const char* region : {"London", "North East", "Scotland", "Wales"}) {
        column.add_categories(region);
      }
      column.set_has_missing(true);
    }
  }
  AddColumn(person, "date_of_birth", trenode::v1::COLUMN_TYPE_DATE, true);
  AddColumn(person, "weight", trenode::v1::COLUMN_TYPE_REAL, true);
  AddColumn(person, "postcode_district", trenode::v1::COLUMN_TYPE_TEXT, true);
  AddColumn(person, "ethnicity", trenode::v1::COLUMN_TYPE_TEXT, false, {"A", "(missing)"});
  AddColumn(person, "smoker \"status\"", trenode::v1::COLUMN_TYPE_TEXT, true, {"yes", "no"});
  std::vector<std::string> many;
  for (int i = 0; i < 150; ++i) many.push_back(absl::StrCat("v", i));
  AddColumn(person, "many_values", trenode::v1::COLUMN_TYPE_TEXT, false, many);
  Table* odd = dataset.add_tables();
  odd->set_name("visit \"log\"");
  AddColumn(odd, "person_id", trenode::v1::COLUMN_TYPE_TEXT, false)->set_is_person_key(true);
  AddColumn(odd, "kind", trenode::v1::COLUMN_TYPE_TEXT, false);
  AddColumn(odd, "when", trenode::v1::COLUMN_TYPE_DATE, false);
  AddColumn(odd, "cost", trenode::v1::COLUMN_TYPE_INTEGER, true);
  Table* unlinked = dataset.add_tables();
  unlinked->set_name("reference_ranges");
  AddColumn(unlinked, "code", trenode::v1::COLUMN_TYPE_TEXT, false);
  AddColumn(unlinked, "low", trenode::v1::COLUMN_TYPE_REAL, false);
  return dataset;
}

std::string Quote(const std::string& name) {
  return absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
}

constexpr int kPersons = 40;

// One value of `column` for row `row` of its table, consistent with the
// catalogue: a recorded category if it has any, NULL only where values may
// be missing.
void BindValue(sqlite3_stmt* insert, int index, const Column& column, int row, int person) {
  if (column.is_person_key()) {
    std::string key = absl::StrCat("P", person);
    sqlite3_bind_text(insert, index, key.c_str(), -1, SQLITE_TRANSIENT);
  } else if (column.has_missing() && row % 5 == 4) {
    sqlite3_bind_null(insert, index);
  } else if (!column.categories().empty()) {
    const std::string& value = column.categories(row % column.categories_size());
    sqlite3_bind_text(insert, index, value.c_str(), -1, SQLITE_TRANSIENT);
  } else if (column.type() == trenode::v1::COLUMN_TYPE_INTEGER) {
    sqlite3_bind_int64(insert, index, 1930 + (row * 7) % 80);
  } else if (column.type() == trenode::v1::COLUMN_TYPE_REAL) {
    sqlite3_bind_double(insert, index, 20.0 + (row * 13) % 50 + 0.25);
  } else if (column.type() == trenode::v1::COLUMN_TYPE_DATE) {
    std::string date = absl::StrCat(1940 + (row * 3) % 80, "-0", 1 + row % 9, "-1", row % 10);
    sqlite3_bind_text(insert, index, date.c_str(), -1, SQLITE_TRANSIENT);
  } else {
    static constexpr const char* kCodes[] = {"I10",      "I50.1", "E11.9", "250908004",
                                             "60621009", "0205",  "A",     ""};
    sqlite3_bind_text(insert, index, kCodes[row % 8], -1, SQLITE_TRANSIENT);
  }
}

// A dataset file with the dataset's tables, as the importer makes them, and
// rows that match the catalogue: kPersons persons and three times as many
// rows in each other table.
std::string MakeDatasetFile() {
  std::string dir = (std::filesystem::temp_directory_path() / "trenode-fuzz-query-XXXXXX").string();
  FUZZ_CHECK(mkdtemp(dir.data()) != nullptr);
  static const std::string* to_remove = new std::string(dir);
  std::atexit([] { std::filesystem::remove_all(*to_remove); });
  std::string path = dir + "/dataset.sqlite";
  sqlite3* db = nullptr;
  FUZZ_CHECK(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  FUZZ_CHECK(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK);
  for (const Table& table : FuzzDataset().tables()) {
    std::vector<std::string> columns, marks;
    for (const Column& column : table.columns()) {
      columns.push_back(
          absl::StrCat(Quote(column.name()), " ", catalogue::ColumnSqlType(column.type())));
      marks.push_back("?");
    }
    std::string create = absl::StrCat("CREATE TABLE ", Quote(table.name()), " (",
                                      absl::StrJoin(columns, ", "), ") STRICT");
    FUZZ_CHECK(sqlite3_exec(db, create.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    std::string sql = absl::StrCat("INSERT INTO ", Quote(table.name()), " VALUES (",
                                   absl::StrJoin(marks, ", "), ")");
    sqlite3_stmt* insert = nullptr;
    FUZZ_CHECK(sqlite3_prepare_v2(db, sql.c_str(), -1, &insert, nullptr) == SQLITE_OK);
    const bool persons = table.name() == "person";
    for (int row = 0; row < (persons ? kPersons : 3 * kPersons); ++row) {
      for (int c = 0; c < table.columns_size(); ++c) {
        BindValue(insert, c + 1, table.columns(c), row, persons ? row : (row * 7) % kPersons);
      }
      FUZZ_CHECK(sqlite3_step(insert) == SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
  }
  FUZZ_CHECK(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  return path;
}

const std::string& DatasetFile() {
  static const std::string* path = new std::string(MakeDatasetFile());
  return *path;
}

// The statement prepares, binds and runs over the dataset file.
void CheckStatement(const query::Statement& statement, int* columns) {
  static sqlite3* db = [] {
    sqlite3* opened = nullptr;
    FUZZ_CHECK(sqlite3_open_v2(DatasetFile().c_str(), &opened, SQLITE_OPEN_READONLY, nullptr) ==
               SQLITE_OK);
    return opened;
  }();
  sqlite3_stmt* prepared = nullptr;
  if (sqlite3_prepare_v2(db, statement.sql.c_str(), static_cast<int>(statement.sql.size()),
                         &prepared, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "SQLite refuses the compiled statement: %s\n%s\n", sqlite3_errmsg(db),
                 statement.sql.c_str());
    FUZZ_CHECK(false);
  }
  // Statements of one query share their values' numbering: each names some
  // of them, never one past the end.
  const int named = sqlite3_bind_parameter_count(prepared);
  FUZZ_CHECK(named <= static_cast<int>(statement.params.size()));
  for (size_t i = 0; i < static_cast<size_t>(named); ++i) {
    int index = static_cast<int>(i + 1);
    int bound = std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, int64_t>) {
            return sqlite3_bind_int64(prepared, index, value);
          } else if constexpr (std::is_same_v<T, double>) {
            return sqlite3_bind_double(prepared, index, value);
          } else {
            return sqlite3_bind_text(prepared, index, value.data(), static_cast<int>(value.size()),
                                     SQLITE_TRANSIENT);
          }
        },
        statement.params[i]);
    FUZZ_CHECK(bound == SQLITE_OK);
  }
  int stepped;
  while ((stepped = sqlite3_step(prepared)) == SQLITE_ROW) {
  }
  if (stepped != SQLITE_DONE) {
    std::fprintf(stderr, "the compiled statement fails on the dataset: %s\n%s\n",
                 sqlite3_errmsg(db), statement.sql.c_str());
    FUZZ_CHECK(false);
  }
  *columns = sqlite3_column_count(prepared);
  sqlite3_finalize(prepared);
}

}  // namespace

const Dataset& FuzzDataset() {
  static const Dataset* dataset = new Dataset(MakeDataset());
  return *dataset;
}

void CheckCompiledQuery(const trenode::v1::AggregateQuery& query) {
  absl::StatusOr<query::CompiledQuery> compiled = query::CompileQuery(query, FuzzDataset());
  if (!compiled.ok()) {
    FUZZ_CHECK(compiled.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!compiled.status().message().empty());
    return;
  }
  FUZZ_CHECK(absl::StartsWith(compiled->persons.sql, "SELECT p.rowid"));
  absl::StatusOr<query::CompiledQuery> again = query::CompileQuery(query, FuzzDataset());
  FUZZ_CHECK(again.ok() && again->persons.sql == compiled->persons.sql &&
             again->persons.params == compiled->persons.params);
  FUZZ_CHECK(compiled->persons.params.size() <= static_cast<size_t>(query::kMaxQueryValues));
  int columns = 0;
  CheckStatement(compiled->persons, &columns);
  for (const query::ValuePass& pass : compiled->value_passes) {
    FUZZ_CHECK(pass.output >= 0 && pass.output < static_cast<int>(compiled->outputs.size()) &&
               compiled->outputs[pass.output].own_pass);
    int pass_columns = 0;
    CheckStatement(pass.statement, &pass_columns);
    FUZZ_CHECK(pass_columns == columns);  // numbered alike
  }
  FUZZ_CHECK(compiled->outputs.size() == static_cast<size_t>(query.outputs_size()));
  FUZZ_CHECK(compiled->tables.contains("person"));
  for (const std::string& table : compiled->tables) {
    bool known = false;
    for (const Table& t : FuzzDataset().tables()) known = known || t.name() == table;
    FUZZ_CHECK(known);
  }
  auto valid_column = [&](int column) { return column >= 1 && column < columns; };
  for (const query::OutputPlan& output : compiled->outputs) {
    int64_t cells = 1;
    for (const query::GroupPlan& group : output.groups) {
      FUZZ_CHECK(valid_column(group.column));
      FUZZ_CHECK(group.categories.size() > 0);
      cells *= static_cast<int64_t>(group.categories.size());
      bool count_like = output.kind == trenode::v1::OUTPUT_KIND_COUNTS ||
                        output.kind == trenode::v1::OUTPUT_KIND_CROSSTAB;
      FUZZ_CHECK(count_like ? group.joint_variable >= 0 &&
                                  group.joint_variable < static_cast<int>(compiled->joint.size())
                            : group.joint_variable == -1);
    }
    FUZZ_CHECK(cells == output.cells && cells <= query::kMaxResultCells);
    if (output.kind == trenode::v1::OUTPUT_KIND_SUMMARY)
      FUZZ_CHECK(valid_column(output.value_column));
    for (int term : output.terms) FUZZ_CHECK(valid_column(term));
    if (output.kind == trenode::v1::OUTPUT_KIND_REGRESSION) {
      FUZZ_CHECK(output.term_names.size() == output.terms.size() - 1 + (output.intercept ? 1 : 0));
    }
  }
  for (const query::JointVariable& joint : compiled->joint) FUZZ_CHECK(valid_column(joint.column));
  FUZZ_CHECK(compiled->joint_cells >= 0 && compiled->joint_cells <= query::kMaxJointCells);

  // The runner reports a value outside its categories as Internal ("a
  // compiler bug, or a dataset file that does not match its catalogue
  // entry"); this file matches, so every compiled query runs.
  static storage::SqliteDb* dataset =
      storage::SqliteDb::Open(DatasetFile(), storage::SqliteDb::Mode::kReadOnly)->release();
  static const query::PersonCodes* codes =
      new query::PersonCodes(query::PersonCodes::Sequential(kPersons));
  absl::StatusOr<query::QueryOutcome> outcome = query::RunQuery(*dataset, *compiled, *codes);
  if (!outcome.ok()) {
    std::fprintf(stderr, "a compiled query does not run: %s\n",
                 std::string(outcome.status().message()).c_str());
    FUZZ_CHECK(false);
  }
  FUZZ_CHECK(outcome->result.tables_size() == query.outputs_size());
}

}  // namespace trenode::fuzz
