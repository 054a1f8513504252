#include "node/ingest/dataset_builder.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/catalogue/column_sql_type.h"
#include "node/catalogue/dataset_validation.h"
#include "node/catalogue/person_rowid_column.h"
#include "node/common/status_macros.h"
#include "node/ingest/column_profile.h"
#include "node/ingest/column_types.h"
#include "node/ingest/csv_reader.h"
#include "node/ingest/person_key_map.h"
#include "node/ingest/read_ahead_csv_reader.h"
#include "node/storage/sqlite.h"

namespace trenode::ingest {
namespace {
using storage::SqliteDb;
using storage::SqliteStatement;
using trenode::v1::Column;
using trenode::v1::ColumnType;
using trenode::v1::Dataset;
using trenode::v1::ImportProgress;
using trenode::v1::Table;

constexpr int kMaxColumns = 1000;
constexpr int kMaxCategories = 1000;
constexpr int64_t kMinCategoryPersons = 10;
// The text of a person table column's values counted while loading; past it
// the column's categories are counted in SQL afterwards.
constexpr size_t kMaxCategoryBytes = 1 << 20;
constexpr char kDefaultPersonKey[] = "person_id";

struct TablePlan {
  std::string file;  // object key in the source
  Table table;       // columns in file order
  std::vector<bool> declared_type;
  std::vector<TypeInference> inference;
  std::optional<int> person_key;  // index of the person key column
  int64_t bytes = 0;              // the file's size
  int64_t rows = 0;               // counted by CheckAndInfer
};

// Where the counters of a phase that reads every file stand.
struct PassCounters {
  int64_t rows = 0;
  int64_t bytes = 0;
};

ImportProgress Phase(ImportProgress::Phase phase, const std::string& table = "") {
  ImportProgress state;
  state.set_phase(phase);
  state.set_table(table);
  return state;
}

absl::Status FieldError(const TablePlan& plan, int64_t line, int field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(plan.file, " line ", line, " field ", field + 1,
                                                 " (", plan.table.columns(field).name(),
                                                 "): ", problem));
}

const Table* FindDeclared(const Dataset& declared, const std::string& name) {
  for (const Table& table : declared.tables()) {
    if (table.name() == name) return &table;
  }
  return nullptr;
}

// Reads the header and merges it with what `declared` says of the table.
absl::StatusOr<TablePlan> PlanTable(adapters::ObjectStore& source, const std::string& file,
                                    const Dataset& declared) {
  TablePlan plan;
  plan.file = file;
  std::string name = file.substr(0, file.size() - 4);
  RETURN_IF_ERROR(catalogue::ValidateSqlName(name, absl::StrCat("file name ", file)));
  plan.table.set_name(name);
  const Table* declared_table = FindDeclared(declared, name);
  if (declared_table) plan.table.set_description(declared_table->description());

  ASSIGN_OR_RETURN(auto reader, source.OpenRead(file));
  CsvReader csv(std::move(reader), file);
  CsvRecord header;
  ASSIGN_OR_RETURN(bool has_header, csv.Next(header));
  if (!has_header)
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": is empty; the first line must be a header"));
  if (header.fields.size() > kMaxColumns) {
    return absl::InvalidArgumentError(absl::StrCat(file, " line 1: has ", header.fields.size(),
                                                   " columns; at most ", kMaxColumns));
  }
  std::map<std::string, int> seen;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string& column_name = header.fields[i];
    RETURN_IF_ERROR(catalogue::ValidateSqlName(
        column_name, absl::StrCat(file, " line 1 field ", i + 1, " (header)")));
    if (!seen.emplace(column_name, i).second) {
      return absl::InvalidArgumentError(absl::StrCat(file, " line 1 field ", i + 1, ": column \"",
                                                     column_name, "\" appears twice"));
    }
    Column* column = plan.table.add_columns();
    column->set_name(column_name);
    bool typed = false;
    if (declared_table) {
      for (const Column& d : declared_table->columns()) {
        if (d.name() != column_name) continue;
        *column = d;
        typed = d.type() != trenode::v1::COLUMN_TYPE_UNSPECIFIED;
      }
    }
    plan.declared_type.push_back(typed);
    plan.inference.emplace_back();
    if (column->is_person_key()) plan.person_key = static_cast<int>(i);
  }
  if (declared_table) {
    for (const Column& d : declared_table->columns()) {
      if (!seen.contains(d.name())) {
        return absl::InvalidArgumentError(absl::StrCat(file, " line 1: declared column \"",
                                                       d.name(), "\" is missing from the header"));
      }
    }
  }
  if (!plan.person_key && seen.contains(kDefaultPersonKey)) {
    plan.person_key = seen[kDefaultPersonKey];
    plan.table.mutable_columns(*plan.person_key)->set_is_person_key(true);
  }
  return plan;
}

// The first pass of a table with a column left to inference: row shapes,
// declared types, and inference of the rest; counts the rows.
absl::Status CheckAndInfer(adapters::ObjectStore& source, TablePlan& plan, PassCounters& pass,
                           ImportProgressReporter& progress) {
  ASSIGN_OR_RETURN(auto reader, source.OpenRead(plan.file));
  ReadAheadCsvReader csv(CsvReader(std::move(reader), plan.file));
  CsvRecord record;
  ASSIGN_OR_RETURN(bool ignored_header, csv.Next(record));
  (void)ignored_header;
  const size_t width = plan.table.columns_size();
  int64_t file_bytes = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool more, csv.Next(record));
    if (!more) break;
    file_bytes = record.end_byte;
    if (record.blank) continue;
    ++plan.rows;
    progress.Advance(pass.rows + plan.rows, pass.bytes + file_bytes);
    if (record.fields.size() != width) {
      return absl::InvalidArgumentError(absl::StrCat(plan.file, " line ", record.line, ": has ",
                                                     record.fields.size(),
                                                     " fields; the header has ", width));
    }
    for (size_t i = 0; i < width; ++i) {
      const std::string& cell = record.fields[i];
      if (plan.declared_type[i]) {
        ColumnType type = plan.table.columns(i).type();
        if (!Fits(cell, type)) {
          return FieldError(plan, record.line, i,
                            absl::StrCat("\"", cell, "\" is not ", Describe(type)));
        }
      } else {
        plan.inference[i].Observe(cell);
      }
    }
  }
  for (size_t i = 0; i < width; ++i) {
    if (!plan.declared_type[i]) plan.table.mutable_columns(i)->set_type(plan.inference[i].Result());
  }
  pass.rows += plan.rows;
  pass.bytes += plan.bytes;
  progress.Reach(pass.rows, pass.bytes);
  return absl::OkStatus();
}

std::string Quoted(const std::string& name) { return absl::StrCat("\"", name, "\""); }

// An event table: one with a person key that is not the person table.
bool IsEventTable(const TablePlan& plan, const TablePlan& person) {
  return plan.person_key.has_value() && &plan != &person;
}

absl::Status CreateTable(SqliteDb& db, const TablePlan& plan, const TablePlan& person) {
  std::vector<std::string> columns;
  for (const Column& column : plan.table.columns()) {
    columns.push_back(
        absl::StrCat("\"", column.name(), "\" ", catalogue::ColumnSqlType(column.type())));
  }
  if (IsEventTable(plan, person)) {
    columns.push_back(Quoted(catalogue::kPersonRowidColumn) + " INTEGER NOT NULL");
  }
  return db.Exec(absl::StrCat("CREATE TABLE \"", plan.table.name(), "\" (",
                              absl::StrJoin(columns, ", "), ") STRICT"));
}

// The indexes query plans need, built once the rows are in (faster than
// keeping them up to date row by row). On each event table (the person
// table's key has its unique index already), with `person` its person rowid
// column (catalogue::kPersonRowidColumn):
// - for each column of codes (TEXT with a coding system; every TEXT column
//   if the table declares none), a covering index of (that column, person,
//   the table's first REAL column (a measured value) if any, its first DATE
//   column if any), which answers "persons with code X (and value < v, or
//   in a date window)" from the index alone, and gives each person's values
//   of code X already grouped by person;
// - (person, first column of codes, first REAL column, first DATE column),
//   whichever the table has, which answers "this person's events with code
//   X (value, date)" from the index alone: features beyond the joined ones
//   are looked up per person through it.
// Returned in the order they are to be built.
struct IndexPlan {
  std::string table;
  std::string name;
  std::string sql;
};

// The page cache while a dataset file loads and is checked.
constexpr char kLoadCache[] = "PRAGMA cache_size=-131072;";

// Worker threads for SQLite's sorter: one per core, at most 4.
int SorterThreads() {
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
}

// Runs CREATE INDEX `sql` with a 4 MiB page cache, from which SQLite's
// sorter takes its run size: the index is sorted in runs that fit the CPU's
// caches, by the sorter's worker threads while the table is read, then
// merged. Twice as fast as one in-memory sort of the whole index, and in
// bounded memory.
absl::Status CreateIndex(SqliteDb& db, const std::string& sql) {
  RETURN_IF_ERROR(db.Exec("PRAGMA cache_size=-4096;"));
  absl::Status created = db.Exec(sql);
  RETURN_IF_ERROR(db.Exec(kLoadCache));
  return created;
}

std::vector<IndexPlan> PlanIndexes(const std::vector<TablePlan>& plans) {
  std::vector<IndexPlan> indexes;
  auto quoted = [](const Column& column) { return absl::StrCat("\"", column.name(), "\""); };
  for (const TablePlan& plan : plans) {
    if (!plan.person_key || &plan == &plans.front()) continue;
    const std::string& table = plan.table.name();
    const Column& key = plan.table.columns(*plan.person_key);
    const Column* number = nullptr;
    const Column* date = nullptr;
    for (const Column& column : plan.table.columns()) {
      if (column.name() == key.name()) continue;
      if (column.type() == trenode::v1::COLUMN_TYPE_REAL && number == nullptr) number = &column;
      if (column.type() == trenode::v1::COLUMN_TYPE_DATE && date == nullptr) date = &column;
    }
    // The columns of codes: those declared with a coding system, or every
    // TEXT column of a table that declares none.
    bool any_coded = false;
    for (const Column& column : plan.table.columns()) {
      any_coded = any_coded || column.coding_system() != trenode::v1::CODING_SYSTEM_UNSPECIFIED;
    }
    const std::string person = Quoted(catalogue::kPersonRowidColumn);
    const Column* first_code = nullptr;
    for (const Column& column : plan.table.columns()) {
      if (column.name() == key.name() || column.type() != trenode::v1::COLUMN_TYPE_TEXT) continue;
      if (any_coded && column.coding_system() == trenode::v1::CODING_SYSTEM_UNSPECIFIED) continue;
      if (first_code == nullptr) first_code = &column;
      std::vector<std::string> covered = {quoted(column), person};
      for (const Column* value : {number, date}) {
        if (value != nullptr) covered.push_back(quoted(*value));
      }
      std::string name = absl::StrCat(table, "_", column.name(), "_plan");
      indexes.push_back({table, name,
                         absl::StrCat("CREATE INDEX \"", name, "\" ON \"", table, "\"(",
                                      absl::StrJoin(covered, ", "), ")")});
    }
    std::vector<std::string> events = {person};
    for (const Column* column : {first_code, number, date}) {
      if (column != nullptr) events.push_back(quoted(*column));
    }
    std::string name = absl::StrCat(table, "_person_events");
    indexes.push_back({table, name,
                       absl::StrCat("CREATE INDEX \"", name, "\" ON \"", table, "\"(",
                                    absl::StrJoin(events, ", "), ")")});
  }
  return indexes;
}

// True if some column's type is left to inference: such a table is read
// twice (CheckAndInfer, then LoadTable); a fully declared one once.
bool NeedsInference(const TablePlan& plan) {
  return std::find(plan.declared_type.begin(), plan.declared_type.end(), false) !=
         plan.declared_type.end();
}

// The one pass of a fully declared table, the second of an inferred one:
// checks each row's shape, that no person key is empty and that every cell
// fits its column's (declared or inferred) type, and inserts the typed row,
// its rowid its line in the file (so that checks made afterwards in SQL can
// name the line). Counts the table's rows into plan.rows; if `profiles` is
// not null, each column's cells into (*profiles)[column]. InvalidArgument
// naming the file, line and field at the first bad row; the rows before it
// stay in the file being built, which the caller removes.
absl::Status LoadTable(adapters::ObjectStore& source, SqliteDb& db, TablePlan& plan,
                       const TablePlan& person, PersonKeyMap& keys, PassCounters& pass,
                       ImportProgressReporter& progress, std::vector<ColumnProfile>* profiles) {
  std::vector<std::string> placeholders, names;
  for (const Column& column : plan.table.columns()) {
    names.push_back(absl::StrCat("\"", column.name(), "\""));
    placeholders.push_back(absl::StrCat("?", placeholders.size() + 1));
  }
  const int width = plan.table.columns_size();
  const int line_parameter = width + 1;
  // An event row's person: its key looked up in the keys the person table
  // loaded (`keys`, filled as it loads), else in the person table's unique
  // index (loaded and built first); either also checks that the key names
  // a person.
  const bool events = IsEventTable(plan, person);
  const bool keeps_keys = &plan == &person;
  std::optional<SqliteStatement> person_of;
  if (events) {
    names.push_back(Quoted(catalogue::kPersonRowidColumn));
    placeholders.push_back(absl::StrCat("?", line_parameter + 1));
    ASSIGN_OR_RETURN(
        person_of,
        db.Prepare(absl::StrCat("SELECT rowid FROM ", Quoted(person.table.name()), " WHERE ",
                                Quoted(person.table.columns(*person.person_key).name()), " = ?1")));
  }
  std::vector<ColumnType> types;
  for (const Column& column : plan.table.columns()) types.push_back(column.type());
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db.Prepare(absl::StrCat("INSERT INTO \"", plan.table.name(), "\" (rowid, ",
                                           absl::StrJoin(names, ", "), ") VALUES (?",
                                           line_parameter, ", ", absl::StrJoin(placeholders, ", "),
                                           ")")));
  ASSIGN_OR_RETURN(auto reader, source.OpenRead(plan.file));
  ReadAheadCsvReader csv(CsvReader(std::move(reader), plan.file));
  CsvRecord record;
  ASSIGN_OR_RETURN(bool ignored_header, csv.Next(record));
  (void)ignored_header;
  int64_t rows = 0;
  auto not_a = [&](int i, const std::string& cell) {
    return FieldError(plan, record.line, i, absl::StrCat("\"", cell, "\" is not ", Describe(types[i])));
  };
  while (true) {
    ASSIGN_OR_RETURN(bool more, csv.Next(record));
    if (!more) break;
    if (record.blank) continue;
    progress.Advance(pass.rows + ++rows, pass.bytes + record.end_byte);
    if (record.fields.size() != static_cast<size_t>(width)) {
      return absl::InvalidArgumentError(absl::StrCat(plan.file, " line ", record.line, ": has ",
                                                     record.fields.size(),
                                                     " fields; the header has ", width));
    }
    if (plan.person_key && record.fields[*plan.person_key].empty()) {
      return FieldError(plan, record.line, *plan.person_key, "person key is empty");
    }
    insert.Bind(line_parameter, record.line);
    if (keeps_keys) keys.Add(record.fields[*plan.person_key], record.line);
    if (events) {
      const std::string& key = record.fields[*plan.person_key];
      std::optional<int64_t> rowid;
      if (keys.usable()) {
        rowid = keys.Find(key);
      } else {
        person_of->Reset();
        person_of->Bind(1, absl::string_view(key));
        ASSIGN_OR_RETURN(bool known, person_of->Step());
        if (known) rowid = person_of->Int64(0);
      }
      if (!rowid) {
        return FieldError(
            plan, record.line, *plan.person_key,
            absl::StrCat("unknown person key \"", key, "\": not in the person table"));
      }
      insert.Bind(line_parameter + 1, *rowid);
    }
    for (int i = 0; i < width; ++i) {
      const std::string& cell = record.fields[i];
      if (profiles != nullptr) (*profiles)[i].Observe(cell);
      if (cell.empty()) {
        insert.BindNull(i + 1);
        continue;
      }
      switch (types[i]) {
        case trenode::v1::COLUMN_TYPE_INTEGER: {
          std::optional<int64_t> value = ParseInteger(cell);
          if (!value) return not_a(i, cell);
          insert.Bind(i + 1, *value);
          break;
        }
        case trenode::v1::COLUMN_TYPE_REAL: {
          std::optional<double> value = ParseReal(cell);
          if (!value) return not_a(i, cell);
          insert.Bind(i + 1, *value);
          break;
        }
        case trenode::v1::COLUMN_TYPE_DATE:
          if (!IsIsoDate(cell)) return not_a(i, cell);
          insert.Bind(i + 1, absl::string_view(cell));
          break;
        default:
          insert.Bind(i + 1, absl::string_view(cell));
          break;
      }
    }
    RETURN_IF_ERROR(insert.Run());
    insert.Reset();
  }
  plan.rows = rows;
  pass.rows += rows;
  pass.bytes += plan.bytes;
  progress.Reach(pass.rows, pass.bytes);
  return absl::OkStatus();
}

// The person keys are unique: a unique index on them (which every later
// check and query uses), or the first line that repeats an earlier key.
// Checked in SQL, so that memory stays bounded whatever the number of persons.
absl::Status IndexPersonKeys(SqliteDb& db, const TablePlan& person) {
  const std::string table = Quoted(person.table.name());
  const std::string& key_name = person.table.columns(*person.person_key).name();
  const std::string key = Quoted(key_name);
  absl::Status unique =
      CreateIndex(db, absl::StrCat("CREATE UNIQUE INDEX \"", person.table.name(), "_", key_name,
                                   "_idx\" ON ", table, "(", key, ")"));
  if (unique.ok() || unique.code() != absl::StatusCode::kFailedPrecondition) return unique;
  ASSIGN_OR_RETURN(
      SqliteStatement repeat,
      db.Prepare(absl::StrCat("SELECT b.rowid, MIN(a.rowid), b.", key, " FROM ", table,
                              " AS b JOIN ", table, " AS a ON a.", key, " = b.", key,
                              " AND a.rowid < b.rowid GROUP BY b.rowid ORDER BY b.rowid LIMIT 1")));
  ASSIGN_OR_RETURN(bool found, repeat.Step());
  if (!found) return unique;
  return FieldError(person, repeat.Int64(0), *person.person_key,
                    absl::StrCat("person key \"", repeat.Text(2), "\" repeats line ",
                                 repeat.Int64(1)));
}

// The person table's value sets, which grouped outputs list in full
// (spec/catalogue.md): for each TEXT column its sorted values held by at
// least kMinCategoryPersons persons when there are at most kMaxCategories,
// whether it has rarer ones, and for every column whether any row lacks a
// value. Taken from `profiles` (one per column, filled while loading), and
// for a column whose values were not counted there, from the file in SQL.
absl::Status RecordCategories(SqliteDb& db, Table& table,
                              const std::vector<ColumnProfile>& profiles) {
  for (int c = 0; c < table.columns_size(); ++c) {
    Column& column = *table.mutable_columns(c);
    const ColumnProfile& profile = profiles[c];
    column.set_has_missing(profile.has_missing());
    if (column.type() != trenode::v1::COLUMN_TYPE_TEXT || column.is_person_key()) continue;
    std::vector<std::pair<std::string, int64_t>> found;
    switch (profile.state()) {
      case ColumnProfile::Values::kCounted:
        for (auto& value : profile.values()) found.push_back(value);
        break;
      case ColumnProfile::Values::kTooMany:
        found.resize(kMaxCategories + 1);
        break;
      case ColumnProfile::Values::kNotCounted: {
        ASSIGN_OR_RETURN(SqliteStatement values,
                         db.Prepare(absl::StrCat("SELECT \"", column.name(), "\", COUNT(*) FROM \"",
                                                 table.name(), "\" WHERE \"", column.name(),
                                                 "\" IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT ",
                                                 kMaxCategories + 1)));
        while (true) {
          ASSIGN_OR_RETURN(bool more, values.Step());
          if (!more) break;
          found.emplace_back(values.Text(0), values.Int64(1));
        }
        break;
      }
    }
    column.clear_categories();
    column.set_has_rare_values(false);
    if (found.size() <= static_cast<size_t>(kMaxCategories)) {
      // A value held by a handful of persons is itself a disclosure in a
      // published data dictionary: such values are "(other)".
      for (auto& [value, persons] : found) {
        if (persons >= kMinCategoryPersons) {
          column.add_categories(std::move(value));
        } else {
          column.set_has_rare_values(true);
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Dataset> Build(adapters::ObjectStore& source, const Dataset& declared,
                              const std::string& output_path, ImportProgressReporter& progress,
                              int64_t person_key_slots) {
  ASSIGN_OR_RETURN(std::vector<adapters::ObjectInfo> objects, source.List(""));
  std::string person_table = declared.person_table().empty() ? "person" : declared.person_table();
  std::vector<TablePlan> plans;
  for (const adapters::ObjectInfo& object : objects) {
    if (!absl::EndsWith(object.key, ".csv") || object.key.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("file ", object.key, ": only <table>.csv files may be imported"));
    }
    ASSIGN_OR_RETURN(TablePlan plan, PlanTable(source, object.key, declared));
    plan.bytes = object.size;
    plans.push_back(std::move(plan));
  }
  if (plans.empty()) return absl::InvalidArgumentError("no CSV files to import");
  for (const Table& table : declared.tables()) {
    bool sent = false;
    for (const TablePlan& plan : plans) sent = sent || plan.table.name() == table.name();
    if (!sent) {
      return absl::InvalidArgumentError(
          absl::StrCat("declared table \"", table.name(), "\" has no file ", table.name(), ".csv"));
    }
  }
  // The person table loads first, so that other tables' keys can be checked.
  auto person = std::find_if(plans.begin(), plans.end(),
                             [&](const TablePlan& p) { return p.table.name() == person_table; });
  if (person == plans.end()) {
    return absl::InvalidArgumentError(absl::StrCat("no person table: send ", person_table,
                                                   ".csv or name another in person_table"));
  }
  if (!person->person_key) {
    return absl::InvalidArgumentError(absl::StrCat(
        person->file, " line 1: the person table has no person key column (a column named ",
        kDefaultPersonKey, " or one declared is_person_key)"));
  }
  std::rotate(plans.begin(), person, person + 1);

  int64_t total_bytes = 0;
  for (const TablePlan& plan : plans) total_bytes += plan.bytes;
  // Only tables with a column left to inference are read before loading;
  // loading checks every row again (cheaply) whatever its table's types.
  PassCounters checked;
  bool all_checked = true;
  for (TablePlan& plan : plans) {
    if (!NeedsInference(plan)) {
      all_checked = false;
      continue;
    }
    ImportProgress state = Phase(ImportProgress::PHASE_CHECKING, plan.table.name());
    state.set_rows_done(checked.rows);
    state.set_bytes_done(checked.bytes);
    state.set_bytes_total(total_bytes);
    progress.Begin(state);
    RETURN_IF_ERROR(CheckAndInfer(source, plan, checked, progress));
    plan.rows = 0;  // counted again by LoadTable
  }

  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(output_path));
  // No journal and no syncs while the file is built: it is not yet anyone's
  // dataset (a failed or killed build leaves a file that is removed, never
  // published), and the copy into the object store is fsynced before it is
  // published. A bounded page cache for the loads and checks, whatever the
  // size of the data (index builds shrink it while they sort: CreateIndex),
  // and the file read through a memory map, which this one connection never
  // invalidates.
  RETURN_IF_ERROR(db->Exec(
      absl::StrCat("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; ", kLoadCache,
                   " PRAGMA mmap_size=268435456; PRAGMA threads=", SorterThreads(), "; BEGIN")));
  const std::vector<IndexPlan> indexes = PlanIndexes(plans);
  const int index_steps = static_cast<int>(indexes.size()) + 1;  // + the person key's
  PassCounters loaded;
  // The person table's columns, described as they load.
  std::vector<ColumnProfile> person_profiles;
  for (const Column& column : plans.front().table.columns()) {
    person_profiles.emplace_back(
        column.type() == trenode::v1::COLUMN_TYPE_TEXT && !column.is_person_key(),
        static_cast<size_t>(kMaxCategories), kMaxCategoryBytes);
  }
  std::optional<PersonKeyMap> keys(std::in_place, person_key_slots);
  for (TablePlan& plan : plans) {
    ImportProgress state = Phase(ImportProgress::PHASE_LOADING, plan.table.name());
    state.set_rows_done(loaded.rows);
    state.set_rows_total(all_checked ? checked.rows : 0);
    state.set_bytes_done(loaded.bytes);
    state.set_bytes_total(total_bytes);
    progress.Begin(state);
    RETURN_IF_ERROR(CreateTable(*db, plan, plans.front()));
    RETURN_IF_ERROR(LoadTable(source, *db, plan, plans.front(), *keys, loaded, progress,
                              &plan == &plans.front() ? &person_profiles : nullptr));
    if (&plan == &plans.front()) {
      state = Phase(ImportProgress::PHASE_INDEXING, plan.table.name());
      state.set_index(absl::StrCat(plan.table.name(), "_",
                                   plan.table.columns(*plan.person_key).name(), "_idx"));
      state.set_step(1);
      state.set_steps(index_steps);
      progress.Begin(state);
      RETURN_IF_ERROR(IndexPersonKeys(*db, plan));
    }
  }
  keys.reset();  // its memory back before the index builds
  for (size_t i = 0; i < indexes.size(); ++i) {
    ImportProgress state = Phase(ImportProgress::PHASE_INDEXING, indexes[i].table);
    state.set_index(indexes[i].name);
    state.set_step(static_cast<int32_t>(i) + 2);
    state.set_steps(index_steps);
    progress.Begin(state);
    RETURN_IF_ERROR(CreateIndex(*db, indexes[i].sql));
  }
  // ANALYZE, so that the planner knows each index's selectivity.
  progress.Begin(Phase(ImportProgress::PHASE_ANALYZING));
  RETURN_IF_ERROR(db->Exec("ANALYZE"));
  progress.Begin(Phase(ImportProgress::PHASE_DESCRIBING, plans.front().table.name()));
  RETURN_IF_ERROR(RecordCategories(*db, plans.front().table, person_profiles));
  RETURN_IF_ERROR(db->Exec("COMMIT"));

  Dataset result = declared;
  result.set_person_table(person_table);
  result.clear_tables();
  for (const TablePlan& plan : plans) *result.add_tables() = plan.table;
  ASSIGN_OR_RETURN(SqliteStatement count,
                   db->Prepare(absl::StrCat("SELECT COUNT(*) FROM ", Quoted(person_table))));
  ASSIGN_OR_RETURN(bool counted, count.Step());
  if (!counted) return absl::InternalError("cannot count the persons");
  result.mutable_steward()->set_exact_person_count(count.Int64(0));
  return result;
}

}  // namespace

absl::StatusOr<Dataset> BuildDatasetFile(adapters::ObjectStore& source, const Dataset& declared,
                                         const std::string& output_path,
                                         ImportProgressReporter* progress,
                                         int64_t person_key_slots) {
  std::error_code ec;
  if (std::filesystem::exists(output_path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(output_path, " already exists"));
  }
  ImportProgressReporter silent = ImportProgressReporter::Silent();
  absl::StatusOr<Dataset> result = Build(
      source, declared, output_path, progress != nullptr ? *progress : silent, person_key_slots);
  if (!result.ok()) {
    std::filesystem::remove(output_path, ec);
    std::filesystem::remove(output_path + "-journal", ec);
  }
  return result;
}

}  // namespace trenode::ingest
