#include "node/ingest/dataset_builder.h"

#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

#include "adapters/memory/memory_object_store.h"
#include "gtest/gtest.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::ingest {
namespace {
using trenode::v1::Dataset;

constexpr char kPerson[] = "person_id,year_of_birth,sex\nP1,1950,F\nP2,1961,M\nP3,,F\n";
constexpr char kConditions[] =
    "person_id,condition_code,condition_start_date\nP1,I50.9,2019-05-01\nP3,I10,2020-01-31\n";

class DatasetBuilderTest : public ::testing::Test {
 protected:
  void Put(const std::string& name, const std::string& text) {
    ASSERT_TRUE(adapters::WriteObject(source_, name, text).ok());
  }
  absl::StatusOr<Dataset> Build() {
    return BuildDatasetFile(source_, declared_, output_, nullptr, keys_in_memory_);
  }
  void ExpectRejected(const std::string& message) {
    auto result = Build();
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(result.status().message(), message);
    EXPECT_FALSE(std::filesystem::exists(output_)) << "half-built file left behind";
  }

  adapters::MemoryObjectStore source_;
  Dataset declared_;
  // Slots for the person keys the build keeps in memory (0: each key looked
  // up in SQL).
  int64_t keys_in_memory_ = PersonKeyMap::kMaxSlots;
  testing::TempDir dir_;
  std::string output_ = dir_.File("data.sqlite");
};

TEST_F(DatasetBuilderTest, InfersSchemaAndLoadsTypedRows) {
  Put("person.csv", kPerson);
  Put("condition_occurrence.csv", kConditions);
  declared_.set_id("hf");
  auto* declared_code = declared_.add_tables();
  declared_code->set_name("condition_occurrence");
  auto* code = declared_code->add_columns();
  code->set_name("condition_code");
  code->set_type(trenode::v1::COLUMN_TYPE_TEXT);
  code->set_coding_system(trenode::v1::CODING_SYSTEM_ICD10);
  code->set_description("ICD-10 diagnosis");

  auto built = Build();
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->person_table(), "person");
  EXPECT_EQ(built->steward().exact_person_count(), 3);
  ASSERT_EQ(built->tables_size(), 2);
  const auto& person = built->tables(0);
  EXPECT_EQ(person.name(), "person");
  EXPECT_TRUE(person.columns(0).is_person_key());
  EXPECT_EQ(person.columns(1).type(), trenode::v1::COLUMN_TYPE_INTEGER);
  EXPECT_EQ(person.columns(2).type(), trenode::v1::COLUMN_TYPE_TEXT);
  const auto& conditions = built->tables(1);
  EXPECT_EQ(conditions.columns(1).coding_system(), trenode::v1::CODING_SYSTEM_ICD10);
  EXPECT_EQ(conditions.columns(1).description(), "ICD-10 diagnosis");
  EXPECT_EQ(conditions.columns(2).type(), trenode::v1::COLUMN_TYPE_DATE);

  auto db = *storage::SqliteDb::Open(output_, storage::SqliteDb::Mode::kReadOnly);
  auto sum = *db->Prepare(
      "SELECT SUM(year_of_birth), COUNT(*), typeof(MAX(year_of_birth)),"
      " SUM(year_of_birth IS NULL) FROM person");
  ASSERT_TRUE(*sum.Step());
  EXPECT_EQ(sum.Int64(0), 1950 + 1961);
  EXPECT_EQ(sum.Int64(1), 3);
  EXPECT_EQ(sum.Text(2), "integer");
  EXPECT_EQ(sum.Int64(3), 1);
  auto events =
      *db->Prepare("SELECT condition_code FROM condition_occurrence WHERE person_id = 'P3'");
  ASSERT_TRUE(*events.Step());
  EXPECT_EQ(events.Text(0), "I10");
}

TEST_F(DatasetBuilderTest, RaggedRow) {
  Put("person.csv", "person_id,year_of_birth\nP1,1950\nP2\n");
  ExpectRejected("person.csv line 3: has 1 fields; the header has 2");
}

TEST_F(DatasetBuilderTest, DeclaredTypeMismatch) {
  Put("person.csv", "person_id,year_of_birth\nP1,1950\nP2,19x0\n");
  auto* table = declared_.add_tables();
  table->set_name("person");
  auto* column = table->add_columns();
  column->set_name("year_of_birth");
  column->set_type(trenode::v1::COLUMN_TYPE_INTEGER);
  ExpectRejected("person.csv line 3 field 2 (year_of_birth): \"19x0\" is not an integer");
}

TEST_F(DatasetBuilderTest, UnknownPersonKey) {
  Put("person.csv", kPerson);
  Put("condition_occurrence.csv", "person_id,condition_code\nP1,I50\nP9,I10\n");
  ExpectRejected(
      "condition_occurrence.csv line 3 field 1 (person_id): unknown person key \"P9\": not in the "
      "person table");
}

// Of several unknown keys, the one on the earliest line is named, whatever
// their order as keys.
TEST_F(DatasetBuilderTest, UnknownPersonKeyOnTheFirstLineIsNamed) {
  Put("person.csv", kPerson);
  Put("condition_occurrence.csv",
      "person_id,condition_code\nP1,I50\nZ8,I10\nA7,I10\nP1,I10\nA7,E11\n");
  for (int64_t in_memory : {PersonKeyMap::kMaxSlots, int64_t{0}}) {
    keys_in_memory_ = in_memory;
    ExpectRejected(
        "condition_occurrence.csv line 3 field 1 (person_id): unknown person key \"Z8\": not in "
        "the person table");
  }
}

// Each event row's person rowid is its key's person's row, whether the keys
// were looked up in memory or in the person key's index.
TEST_F(DatasetBuilderTest, EachEventNamesItsPersonsRowid) {
  Put("person.csv", "person_id,year_of_birth\nP3,1950\nP1,1960\nP2,1970\n");
  Put("measurement.csv", "person_id,value\nP2,1\nP3,2\nP2,3\nP1,4\n");
  for (int64_t in_memory : {PersonKeyMap::kMaxSlots, int64_t{0}}) {
    keys_in_memory_ = in_memory;
    std::filesystem::remove(output_);
    auto built = Build();
    ASSERT_TRUE(built.ok()) << built.status();
    auto db = *storage::SqliteDb::Open(output_, storage::SqliteDb::Mode::kReadOnly);
    auto rows = *db->Prepare(
        "SELECT group_concat(m.value || ':' || p.person_id || ':' || m._person, ' ') FROM "
        "(SELECT * FROM measurement ORDER BY rowid) AS m JOIN person AS p ON p.rowid = "
        "m._person");
    ASSERT_TRUE(*rows.Step());
    EXPECT_EQ(rows.Text(0), "1:P2:4 2:P3:2 3:P2:4 4:P1:3") << in_memory;
  }
}

TEST_F(DatasetBuilderTest, DuplicateAndEmptyPersonKeys) {
  Put("person.csv", "person_id\nP1\nP2\nP1\n");
  ExpectRejected("person.csv line 4 field 1 (person_id): person key \"P1\" repeats line 2");
  Put("person.csv", "person_id\nP1\n\"\"\n");
  ExpectRejected("person.csv line 3 field 1 (person_id): person key is empty");
}

// Indexes larger than one of the sorter's runs (4 MiB) are sorted in several
// runs, by worker threads, and merged: a repeated key far apart is still
// found, and the merged indexes hold every row, in order.
TEST_F(DatasetBuilderTest, IndexesSortedInSeveralRunsAreWhole) {
  constexpr int kPersons = 200000;
  std::string person = "person_id,year_of_birth\n";
  std::string events = "person_id,measurement_code,value_as_number\n";
  for (int i = 0; i < kPersons; ++i) {
    // Keys not in line order, so that every run holds keys from all over.
    const std::string key = absl::StrCat("P", (i * 7919) % kPersons + 1000000);
    absl::StrAppend(&person, key, ",", 1930 + i % 70, "\n");
    absl::StrAppend(&events, key, ",C", i % 97, ",", i % 1000, ".5\n",  //
                    key, ",C", (i + 1) % 97, ",", i % 13, "\n");
  }
  Put("person.csv", person + "P1000000,1950\n");
  Put("measurement.csv", events);
  ExpectRejected(absl::StrCat("person.csv line ", kPersons + 2,
                              " field 1 (person_id): person key \"P1000000\" repeats line 2"));

  Put("person.csv", person);
  auto built = Build();
  ASSERT_TRUE(built.ok()) << built.status();
  auto db = *storage::SqliteDb::Open(output_, storage::SqliteDb::Mode::kReadOnly);
  auto check = *db->Prepare("PRAGMA integrity_check");
  ASSERT_TRUE(*check.Step());
  EXPECT_EQ(check.Text(0), "ok");
  // Each index, walked on its own, gives every row.
  auto code_index = *db->Prepare(
      "SELECT COUNT(*) FROM measurement INDEXED BY measurement_measurement_code_plan"
      " WHERE measurement_code > ''");
  ASSERT_TRUE(*code_index.Step());
  EXPECT_EQ(code_index.Int64(0), 2 * kPersons);
  auto events_index = *db->Prepare(
      "SELECT COUNT(*) FROM measurement INDEXED BY measurement_person_events WHERE _person > 0");
  ASSERT_TRUE(*events_index.Step());
  EXPECT_EQ(events_index.Int64(0), 2 * kPersons);
  // Each event's person rowid is the rowid of its key's person row.
  auto wrong = *db->Prepare(
      "SELECT COUNT(*) FROM measurement AS m LEFT JOIN person AS p ON p.rowid = m._person"
      " WHERE p.person_id IS NOT m.person_id");
  ASSERT_TRUE(*wrong.Step());
  EXPECT_EQ(wrong.Int64(0), 0);
  auto persons = *db->Prepare(
      "SELECT COUNT(*) FROM person INDEXED BY person_person_id_idx WHERE person_id > ''");
  ASSERT_TRUE(*persons.Step());
  EXPECT_EQ(persons.Int64(0), kPersons);
}

TEST_F(DatasetBuilderTest, MissingPersonTableOrKey) {
  Put("measurement.csv", "person_id,value\nP1,3\n");
  ExpectRejected("no person table: send person.csv or name another in person_table");
  Put("person.csv", "id,year_of_birth\nP1,1950\n");
  ExpectRejected(
      "person.csv line 1: the person table has no person key column (a column named person_id "
      "or one declared is_person_key)");
}

TEST_F(DatasetBuilderTest, BadHeadersAndFiles) {
  Put("person.csv", "person_id,Year Of Birth\nP1,1950\n");
  auto result = Build();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("person.csv line 1 field 2 (header)"),
            absl::string_view::npos)
      << result.status();

  Put("person.csv", "person_id,a,a\nP1,1,2\n");
  ExpectRejected("person.csv line 1 field 3: column \"a\" appears twice");

  Put("person.csv", "person_id\nP1\n");
  declared_.add_tables()->set_name("drug_exposure");
  ExpectRejected("declared table \"drug_exposure\" has no file drug_exposure.csv");
}

TEST_F(DatasetBuilderTest, DeclaredColumnMissingFromHeader) {
  Put("person.csv", "person_id\nP1\n");
  auto* table = declared_.add_tables();
  table->set_name("person");
  auto* column = table->add_columns();
  column->set_name("sex");
  column->set_type(trenode::v1::COLUMN_TYPE_TEXT);
  ExpectRejected("person.csv line 1: declared column \"sex\" is missing from the header");
}

TEST_F(DatasetBuilderTest, ErrorInALaterTableLeavesNoFile) {
  Put("person.csv", kPerson);
  Put("condition_occurrence.csv", "person_id,condition_code\nP1,\"I50\n");
  auto result = Build();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(output_));
}

// Declares every column of `table` with `types`, in header order: the
// table is then read once, checked as it is loaded.
void DeclareAll(Dataset& dataset, const std::string& table,
                std::vector<std::pair<std::string, trenode::v1::ColumnType>> types) {
  auto* declared = dataset.add_tables();
  declared->set_name(table);
  for (auto& [name, type] : types) {
    auto* column = declared->add_columns();
    column->set_name(name);
    column->set_type(type);
  }
}

class FullyDeclaredTest : public DatasetBuilderTest {
 protected:
  void SetUp() override {
    Put("person.csv", kPerson);
    DeclareAll(declared_, "person",
               {{"person_id", trenode::v1::COLUMN_TYPE_TEXT},
                {"year_of_birth", trenode::v1::COLUMN_TYPE_INTEGER},
                {"sex", trenode::v1::COLUMN_TYPE_TEXT}});
    DeclareAll(declared_, "measurement",
               {{"person_id", trenode::v1::COLUMN_TYPE_TEXT},
                {"n", trenode::v1::COLUMN_TYPE_INTEGER},
                {"value", trenode::v1::COLUMN_TYPE_REAL},
                {"day", trenode::v1::COLUMN_TYPE_DATE}});
  }
  static constexpr char kHeader[] = "person_id,n,value,day\n";
};

TEST_F(FullyDeclaredTest, LoadsInOnePassWithTheDeclaredTypes) {
  Put("measurement.csv", absl::StrCat(kHeader, "P1,1,40.5,2020-02-29\nP3,,,\nP1,-7,1e3,2021-12-31\n"));
  auto built = Build();
  ASSERT_TRUE(built.ok()) << built.status();
  auto db = *storage::SqliteDb::Open(output_, storage::SqliteDb::Mode::kReadOnly);
  auto rows = *db->Prepare(
      "SELECT COUNT(*), SUM(n), SUM(value), MAX(day), SUM(n IS NULL), typeof(MAX(value)),"
      " group_concat(rowid) FROM measurement");
  ASSERT_TRUE(*rows.Step());
  EXPECT_EQ(rows.Int64(0), 3);
  EXPECT_EQ(rows.Int64(1), -6);
  EXPECT_DOUBLE_EQ(rows.Double(2), 1040.5);
  EXPECT_EQ(rows.Text(3), "2021-12-31");
  EXPECT_EQ(rows.Int64(4), 1);
  EXPECT_EQ(rows.Text(5), "real");
  EXPECT_EQ(rows.Text(6), "2,3,4") << "each row's rowid is its line";
}

// A fully declared table is checked while it is loaded, after the person
// table is in the file: every kind of bad cell is still refused, naming its
// place, and the half-built file is removed.
TEST_F(FullyDeclaredTest, RefusesEveryBadCellWhileLoading) {
  const std::pair<std::string, std::string> cases[] = {
      {"P1,1,40.5,2020-02-29\nP1,x,40.5,2020-02-29\n",
       "measurement.csv line 3 field 2 (n): \"x\" is not an integer"},
      {"P1,99999999999999999999,1,2020-01-01\n",
       "measurement.csv line 2 field 2 (n): \"99999999999999999999\" is not an integer"},
      {"P1,1,nan,2020-01-01\n", "measurement.csv line 2 field 3 (value): \"nan\" is not a number"},
      {"P1,1,1e999,2020-01-01\n",
       "measurement.csv line 2 field 3 (value): \"1e999\" is not a number"},
      {"P1,1,1,2021-02-29\n",
       "measurement.csv line 2 field 4 (day): \"2021-02-29\" is not a date (YYYY-MM-DD)"},
      {"P1,1,1\n", "measurement.csv line 2: has 3 fields; the header has 4"},
      {",1,1,2020-01-01\n", "measurement.csv line 2 field 1 (person_id): person key is empty"},
      {"P9,1,1,2020-01-01\n",
       "measurement.csv line 2 field 1 (person_id): unknown person key \"P9\": not in the person "
       "table"},
  };
  for (const auto& [rows, message] : cases) {
    Put("measurement.csv", absl::StrCat(kHeader, rows));
    ExpectRejected(message);
  }
}

TEST_F(FullyDeclaredTest, ReportsNoCheckingPhaseAndAnUnknownRowTotal) {
  Put("measurement.csv", absl::StrCat(kHeader, "P1,1,40.5,2020-02-29\nP2,2,1,2020-01-01\n"));
  std::vector<trenode::v1::ImportProgress> heard;
  ImportProgressReporter reporter(
      [&](const trenode::v1::ImportProgress& p) { heard.push_back(p); }, &absl::Now,
      absl::ZeroDuration());
  auto built = BuildDatasetFile(source_, declared_, output_, &reporter);
  ASSERT_TRUE(built.ok()) << built.status();
  int64_t loaded = 0;
  for (const auto& p : heard) {
    EXPECT_NE(p.phase(), trenode::v1::ImportProgress::PHASE_CHECKING);
    if (p.phase() != trenode::v1::ImportProgress::PHASE_LOADING) continue;
    EXPECT_EQ(p.rows_total(), 0);
    loaded = p.rows_done();
  }
  EXPECT_EQ(loaded, 5) << "3 persons and 2 measurements";
}

// The person table's categories and missing values, as loading counts them,
// and for a column of long values (past what loading counts in memory) as
// SQL counts them from the file: the same rules either way.
TEST_F(DatasetBuilderTest, DescribesThePersonTableColumns) {
  std::string person = "person_id,sex,region,note,code\n";
  for (int i = 0; i < 1100; ++i) {
    std::string region = i == 5 ? "" : i < 8 ? "Rare" : i % 2 ? "North" : "South";
    std::string note = i < 5 ? std::string(250000, static_cast<char>('a' + i)) : "x";
    absl::StrAppend(&person, "P", i, ",", i % 2 ? "F" : "M", ",", region, ",", note, ",C", i, "\n");
  }
  Put("person.csv", person);
  auto built = Build();
  ASSERT_TRUE(built.ok()) << built.status();
  const auto& columns = built->tables(0).columns();
  auto categories = [&](int c) {
    return std::vector<std::string>(columns[c].categories().begin(), columns[c].categories().end());
  };
  EXPECT_FALSE(columns[0].has_missing());
  EXPECT_TRUE(categories(0).empty()) << "the person key is never a category";
  EXPECT_EQ(categories(1), (std::vector<std::string>{"F", "M"}));
  EXPECT_FALSE(columns[1].has_rare_values());
  EXPECT_FALSE(columns[1].has_missing());
  EXPECT_EQ(categories(2), (std::vector<std::string>{"North", "South"}));
  EXPECT_TRUE(columns[2].has_rare_values()) << "Rare is held by 7 persons";
  EXPECT_TRUE(columns[2].has_missing());
  EXPECT_EQ(categories(3), (std::vector<std::string>{"x"}));
  EXPECT_TRUE(columns[3].has_rare_values());
  EXPECT_FALSE(columns[3].has_missing());
  EXPECT_TRUE(categories(4).empty()) << "1,100 distinct values: not groupable";
  EXPECT_FALSE(columns[4].has_rare_values());
}

}  // namespace
}  // namespace trenode::ingest
