// The set-based plans (PlanShape::kSetBased) against the per-person plans
// of earlier versions (kCorrelated) on hundreds of generated queries over one
// synthetic site: every result, cell for cell and value for value, and every
// disclosure internal (the persons behind each cell), must be identical.
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/onprem/posix_object_store.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "node/ingest/dataset_builder.h"
#include "node/query/compiler.h"
#include "node/query/person_codes.h"
#include "node/query/runner.h"
#include "node/storage/sqlite.h"
#include "node/synth/generator.h"
#include "tests/testutil/synth_dataset.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::query {
namespace {

// Compares results: counts, persons and labels exactly; sums, means and the
// like to the last few bits only (passes may visit the same persons in
// another order). What differs is in `difference`.
struct CloseEnough {
  CloseEnough() {
    numbers.set_float_comparison(google::protobuf::util::DefaultFieldComparator::APPROXIMATE);
    numbers.SetDefaultFractionAndMargin(1e-12, 1e-9);
    differ.set_field_comparator(&numbers);
    differ.ReportDifferencesToString(&difference);
  }
  google::protobuf::util::DefaultFieldComparator numbers;
  google::protobuf::util::MessageDifferencer differ;
  std::string difference;
};

// Draws random queries from the site's real vocabulary (and values just
// beside it, so that prefixes and bounds fall on both sides of real data).
class QueryGenerator {
 public:
  explicit QueryGenerator(uint32_t seed) : random_(seed) {}

  std::string Query() {
    std::string text = "index_date: \"2024-01-01\" ";
    if (Chance(0.9)) absl::StrAppend(&text, "cohort { ", Criterion(0), " } ");
    if (Chance(0.25)) {
      // Regressions alone: the set-based plan reads only persons who can be
      // fitted, and counts the cohort apart.
      absl::StrAppend(&text, "outputs { name: \"alone\" regression { outcome { ", ValueFeature(),
                      " } predictors { ", Chance(0.5) ? ValueFeature() : Feature(), " } } } ");
      if (Chance(0.5)) {
        absl::StrAppend(&text, "outputs { name: \"other\" regression { outcome { ",
                        ValueFeature(), " } predictors { age { birth_column: \"year_of_birth\" } "
                        "} } } ");
      }
      return text;
    }
    absl::StrAppend(&text, "outputs { name: \"by_sex\" counts { group_by { variable { column: "
                           "\"sex\" } } } } ");
    absl::StrAppend(&text, "outputs { name: \"flag\" counts { group_by { variable { indicator { ",
                    Criterion(1), " } } } } } ");
    if (Chance(0.5)) {
      absl::StrAppend(&text,
                      "outputs { name: \"lvef\" summary { value { event_feature { filter { ",
                      MeasurementFilter(), " } aggregate: FEATURE_AGGREGATE_MAX value_column: "
                      "\"value_as_number\" } } } } ");
    }
    // Event features pre-grouped and joined (set-based) or looked up per
    // person (correlated): summarised, binned, fitted, and the same feature
    // named twice so that it is joined once.
    std::string feature = Feature();
    if (Chance(0.4)) {
      absl::StrAppend(&text, "outputs { name: \"feature\" summary { value { ", feature,
                      " } group_by { variable { column: \"sex\" } } } } ");
    }
    if (Chance(0.3)) {
      absl::StrAppend(&text, "outputs { name: \"binned\" counts { group_by { variable { ",
                      feature, " } binning { boundaries: 1 boundaries: 3 boundaries: 40 } } } } ");
    }
    if (Chance(0.3)) {
      absl::StrAppend(&text, "outputs { name: \"fit\" regression { outcome { ", ValueFeature(),
                      " } predictors { age { birth_column: \"year_of_birth\" } } predictors { ",
                      feature, " } } } ");
    }
    return text;
  }

  std::string ValueFeature() {
    return absl::StrCat("event_feature { filter { ", MeasurementFilter(),
                        " } aggregate: ", Pick(kValueAggregates),
                        " value_column: \"value_as_number\" }");
  }

  std::string Feature() {
    if (Chance(0.5)) return ValueFeature();
    return absl::StrCat("event_feature { filter { ", EventFilter(),
                        " } aggregate: FEATURE_AGGREGATE_COUNT }");
  }

  std::string Cohort() { return Criterion(0); }

  // A cohort whose first criterion is a set of persons with events, with up
  // to two more criteria of any kind beside it.
  std::string EventsFirstCohort() {
    std::string list = absl::StrCat("criteria { events { ", Events(), " } } ");
    int n = std::uniform_int_distribution<>(0, 2)(random_);
    for (int i = 0; i < n; ++i) absl::StrAppend(&list, "criteria { ", Criterion(1), " } ");
    return absl::StrCat("all_of { ", list, "}");
  }

  // A variable of the person table alone: a column, an age, or an indicator
  // over person criteria.
  std::string PersonVariable() {
    switch (std::uniform_int_distribution<>(0, 3)(random_)) {
      case 0:
        return absl::StrCat("column: \"", Chance(0.5) ? "sex" : "region", "\"");
      case 1:
        return "age { birth_column: \"year_of_birth\" }";
      case 2:
        return "column: \"year_of_birth\"";
      default:
        return absl::StrCat("indicator { person { ", PersonColumnCriterion(), " } }");
    }
  }

  // A number of the person table alone.
  std::string PersonNumber() {
    std::string variable = PersonVariable();
    return absl::StartsWith(variable, "column: \"sex\"") ||
                   absl::StartsWith(variable, "column: \"region\"")
               ? "age { birth_column: \"year_of_birth\" }"
               : variable;
  }

  // A group of a person variable (numbers binned).
  std::string PersonGroup() {
    std::string variable = PersonVariable();
    std::string binning;
    if (absl::StartsWith(variable, "age")) binning = " binning { boundaries: 40 boundaries: 65 }";
    if (variable == "column: \"year_of_birth\"") {
      binning = " binning { boundaries: 1950 boundaries: 1975 }";
    }
    return absl::StrCat("variable { ", variable, " }", binning);
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<>(0, 1)(random_) < p; }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[std::uniform_int_distribution<size_t>(0, N - 1)(random_)];
  }

  std::string Criterion(int depth) {
    int kind = std::uniform_int_distribution<>(0, depth >= 3 ? 1 : 4)(random_);
    switch (kind) {
      case 0:
        return absl::StrCat("events { ", Events(), " }");
      case 1:
        return absl::StrCat("person { ", Person(), " }");
      case 2:
        return absl::StrCat("none_of { ", Criterion(depth + 1), " }");
      default: {
        std::string list;
        int n = std::uniform_int_distribution<>(1, 3)(random_);
        for (int i = 0; i < n; ++i) absl::StrAppend(&list, "criteria { ", Criterion(depth + 1), " } ");
        return absl::StrCat(kind == 3 ? "all_of" : "any_of", " { ", list, "}");
      }
    }
  }

  std::string EventFilter() {
    switch (std::uniform_int_distribution<>(0, 2)(random_)) {
      case 0:
        return ConditionFilter();
      case 1:
        return MeasurementFilter();
      default:
        return DrugFilter();
    }
  }

  std::string Events() {
    std::string text = absl::StrCat("filter { ", EventFilter(), " }");
    if (Chance(0.3)) absl::StrAppend(&text, " min_count: ", Pick(kMinCounts));
    return text;
  }

  std::string Codes(const char* column, const std::vector<std::string>& codes,
                    const std::vector<std::string>& prefixes) {
    std::string text = absl::StrCat("code_column: \"", column, "\" ");
    int n = std::uniform_int_distribution<>(1, 3)(random_);
    for (int i = 0; i < n; ++i) {
      if (Chance(0.5)) {
        absl::StrAppend(&text, "codes: \"", codes[random_() % codes.size()], "\" ");
      } else {
        absl::StrAppend(&text, "code_prefixes: \"", prefixes[random_() % prefixes.size()], "\" ");
      }
    }
    return text;
  }

  std::string Dates(const char* column) {
    if (!Chance(0.3)) return "";
    std::string text = absl::StrCat("date_column: \"", column, "\" ");
    if (Chance(0.7)) absl::StrAppend(&text, "date_from: \"", Pick(kDates), "\" ");
    if (Chance(0.5)) absl::StrAppend(&text, "date_to: \"", Pick(kDates), "\" ");
    if (!absl::StrContains(text, "date_from") && !absl::StrContains(text, "date_to")) {
      absl::StrAppend(&text, "date_to: \"2020-06-30\" ");
    }
    return text;
  }

  std::string ConditionFilter() {
    return absl::StrCat("table: \"condition_occurrence\" ",
                        Codes("condition_code", {"I10", "E11.9", "I50.0", "I50.1", "I50.9", "I50"},
                              {"I", "I5", "I50", "I50.", "E1", "E11.", "Z", "I1", "~", "H"}),
                        Dates("condition_start_date"));
  }

  std::string MeasurementFilter() {
    std::string text = absl::StrCat(
        "table: \"measurement\" ",
        Codes("measurement_code", {"250908004", "60621009", "999"}, {"2", "25", "6", "60621", "7"}));
    if (Chance(0.6)) {
      absl::StrAppend(&text, "value_column: \"value_as_number\" value_comparison: ",
                      Pick(kComparisons), " value: ", Pick(kValues), " ");
    }
    return absl::StrCat(text, Dates("measurement_date"));
  }

  std::string DrugFilter() {
    return absl::StrCat("table: \"drug_exposure\" ",
                        Codes("drug_code", {"0202020L0", "0204000H0", "0601022B0", "0212000B0"},
                              {"02", "0202", "06", "0212000B0", "1"}),
                        Dates("drug_start_date"));
  }

  std::string Person() {
    if (std::uniform_int_distribution<>(0, 3)(random_) == 3) {
      return absl::StrCat("variable { ", Feature(), " } comparison: ", Pick(kComparisons),
                          " values { number: ", Pick(kFeatureValues), " }");
    }
    return PersonColumnCriterion();
  }

  std::string PersonColumnCriterion() {
    switch (std::uniform_int_distribution<>(0, 2)(random_)) {
      case 0:
        return absl::StrCat("variable { column: \"sex\" } comparison: COMPARISON_EQ values { text: \"",
                            Chance(0.5) ? "M" : "F", "\" }");
      case 1:
        return absl::StrCat("variable { column: \"year_of_birth\" } comparison: ",
                            Pick(kComparisons), " values { number: ", Pick(kYears), " }");
      default:
        return "variable { column: \"region\" } comparison: COMPARISON_IN values { text: \"North "
               "East\" } values { text: \"Yorkshire\" }";
    }
  }

  static constexpr const char* kMinCounts[] = {"2", "3", "5"};
  static constexpr const char* kDates[] = {"2015-01-01", "2018-07-15", "2020-06-30", "2023-12-31"};
  static constexpr const char* kComparisons[] = {"COMPARISON_LT", "COMPARISON_LE", "COMPARISON_GT",
                                                 "COMPARISON_GE", "COMPARISON_EQ", "COMPARISON_NE"};
  static constexpr const char* kValues[] = {"40", "35.5", "27", "50", "10", "80"};
  static constexpr const char* kValueAggregates[] = {
      "FEATURE_AGGREGATE_MIN", "FEATURE_AGGREGATE_MAX", "FEATURE_AGGREGATE_MEAN"};
  static constexpr const char* kFeatureValues[] = {"0", "1", "2", "30", "45.5"};
  static constexpr const char* kYears[] = {"1950", "1960", "1975", "2000"};
  std::mt19937 random_;
};

class PlanDifferentialTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const synth::SynthOptions options{7, 3000};
    auto built = testing::BuildSynthDataset(*dir_, options);
    ASSERT_TRUE(built.ok()) << built.status();
    dataset_ = new trenode::v1::Dataset(*built);
    registry_ = new MemoryPersonRegistry();
    PersonCodesCache cache(registry_);
    auto codes = cache.For(*dataset_, dir_->File("site.sqlite"));
    ASSERT_TRUE(codes.ok()) << codes.status();
    codes_ = new std::shared_ptr<const PersonCodes>(*codes);
  }
  static void TearDownTestSuite() {
    delete codes_;
    delete registry_;
    delete dataset_;
    delete dir_;
  }

  // `rowids`: events joined to persons by their person rowid column (the
  // node's plans for files imported with it), else by person key (files
  // imported before it, and the per-person reference, which so does not
  // depend on that column being right).
  static absl::StatusOr<QueryOutcome> Run(const trenode::v1::AggregateQuery& query, PlanShape shape,
                                          std::string* sql,
                                          std::map<trenode::v1::OutputKind, int>* own = nullptr,
                                          bool rowids = true) {
    CompileLimits limits;
    limits.shape = shape;
    limits.person_rowids = rowids;
    auto compiled = CompileQuery(query, *dataset_, limits);
    if (!compiled.ok()) return compiled.status();
    *sql = absl::StrCat(compiled->persons.sql, "\n", compiled->lean_persons.sql);
    for (const ValuePass& pass : compiled->value_passes) absl::StrAppend(sql, "\n", pass.statement.sql);
    for (const ValuePass& pass : compiled->value_passes) {
      if (own != nullptr) ++(*own)[compiled->outputs[pass.output].kind];
    }
    // The per-person plans read everything in one pass, as earlier versions.
    if (shape == PlanShape::kCorrelated && !compiled->value_passes.empty()) {
      return absl::InternalError("a per-person plan has a pass of its own");
    }
    auto db = storage::SqliteDb::Open(dir_->File("site.sqlite"), storage::SqliteDb::Mode::kReadOnly);
    if (!db.ok()) return db.status();
    return RunQuery(**db, *compiled, **codes_);
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline trenode::v1::Dataset* dataset_ = nullptr;
  static inline MemoryPersonRegistry* registry_ = nullptr;
  static inline std::shared_ptr<const PersonCodes>* codes_ = nullptr;
};

TEST_F(PlanDifferentialTest, SetBasedPlansAnswerExactlyAsPerPersonPlans) {
  QueryGenerator generator(20261202);
  int compared = 0, nonempty = 0, regressions_alone = 0, fitted = 0;
  int own_summaries = 0, own_regressions = 0, by_rowid = 0, driven = 0;
  for (int i = 0; i < 400; ++i) {
    std::string text = generator.Query();
    trenode::v1::AggregateQuery query;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &query)) << text;
    query.set_dataset_id(dataset_->id());
    std::string set_sql, by_key_sql, correlated_sql;
    std::map<trenode::v1::OutputKind, int> own;
    auto set_based = Run(query, PlanShape::kSetBased, &set_sql, &own);
    auto correlated = Run(query, PlanShape::kCorrelated, &correlated_sql, nullptr, false);
    ASSERT_EQ(set_based.ok(), correlated.ok())
        << text << "\n" << set_based.status() << "\n" << correlated.status();
    if (!set_based.ok()) continue;
    if (set_sql == correlated_sql) continue;  // no event criterion: nothing to compare
    // The set-based plans of files without person rowids, too.
    auto by_key = Run(query, PlanShape::kSetBased, &by_key_sql, nullptr, false);
    ASSERT_TRUE(by_key.ok()) << text << "\n" << by_key.status();
    by_rowid += absl::StrContains(set_sql, "_person") && !absl::StrContains(by_key_sql, "_person");
    // The cohort's persons found from the events alone (DrivenByEvents).
    driven += absl::StrContains(set_sql, "\nSELECT e");
    // Counts and persons exactly; sums, means and the like to the last few
    // bits only: the plans may visit the same persons in another order.
    CloseEnough close;
    auto& differ = close.differ;
    std::string& difference = close.difference;
    for (const auto* plan : {&*set_based, &*by_key}) {
      const std::string& sql = plan == &*set_based ? set_sql : by_key_sql;
      EXPECT_TRUE(differ.Compare(correlated->result, plan->result))
          << text << "\n"
          << difference << "\nset-based: " << sql;
      difference.clear();
      EXPECT_TRUE(differ.Compare(correlated->internals, plan->internals))
          << text << "\n"
          << difference << "\nset-based: " << sql;
      difference.clear();
    }
    ++compared;
    // Outputs read in passes of their own: summaries of event features
    // (counted by cell in the cohort pass) and fits.
    own_summaries += own[trenode::v1::OUTPUT_KIND_SUMMARY];
    own_regressions += own[trenode::v1::OUTPUT_KIND_REGRESSION];
    for (const auto& cell : set_based->result.tables(0).cells()) {
      if (cell.count() > 0 && cell.group(0) != "Total") ++nonempty;
    }
    if (set_based->result.tables(0).has_regression()) {
      ++regressions_alone;
      fitted += set_based->result.tables(0).regression().n() > 0;
    }
  }
  EXPECT_GE(compared, 250);
  EXPECT_EQ(by_rowid, compared);  // each compared plan joined its events by person rowid
  EXPECT_GE(driven, 15);
  EXPECT_GE(nonempty, 200);  // not all empty cohorts: the queries select real persons
  EXPECT_GE(regressions_alone, 60);
  EXPECT_GE(fitted, 20);
  EXPECT_GE(own_summaries, 40);
  EXPECT_GE(own_regressions, 40);
}

// Cohorts found from their events alone, without the person table
// (DrivenByEvents): every count and person as the per-person plans find them.
TEST_F(PlanDifferentialTest, CohortsFoundFromTheirEventsAnswerAsPerPersonPlans) {
  QueryGenerator generator(20261205);
  int driven = 0, nonempty = 0;
  for (int i = 0; i < 150; ++i) {
    std::string text = absl::StrCat(
        "index_date: \"2024-01-01\" cohort { ", generator.EventsFirstCohort(),
        " } outputs { name: \"by_sex\" counts { group_by { variable { column: \"sex\" } } } } "
        "outputs { name: \"x\" crosstab { rows { ",
        generator.PersonGroup(), " } columns { variable { column: \"region\" } } } }");
    trenode::v1::AggregateQuery query;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &query)) << text;
    query.set_dataset_id(dataset_->id());
    std::string set_sql, correlated_sql;
    auto set_based = Run(query, PlanShape::kSetBased, &set_sql);
    ASSERT_TRUE(set_based.ok()) << text << "\n" << set_based.status();
    auto correlated = Run(query, PlanShape::kCorrelated, &correlated_sql, nullptr, false);
    ASSERT_TRUE(correlated.ok()) << text << "\n" << correlated.status();
    driven += absl::StrContains(set_sql, "\nSELECT e");
    google::protobuf::util::MessageDifferencer differ;
    std::string difference;
    differ.ReportDifferencesToString(&difference);
    EXPECT_TRUE(differ.Compare(correlated->result, set_based->result))
        << text << "\n"
        << difference << "\nset-based: " << set_sql;
    EXPECT_TRUE(differ.Compare(correlated->internals, set_based->internals))
        << text << "\n"
        << difference << "\nset-based: " << set_sql;
    nonempty += set_based->result.cohort_size() > 0;
  }
  EXPECT_GE(driven, 50);
  EXPECT_GE(nonempty, 60);
}

// More features than SQLite joins in one statement: the first are joined,
// the rest looked up per person, and the answers are the same as ever.
TEST_F(PlanDifferentialTest, ManyEventFeaturesBeyondTheJoinLimitAnswerAlike) {
  std::string criteria;
  for (int i = 0; i < 60; ++i) {
    absl::StrAppend(&criteria,
                    "criteria { person { variable { event_feature { filter { table: "
                    "\"measurement\" code_column: \"measurement_code\" code_prefixes: \"2\" "
                    "value_column: \"value_as_number\" value_comparison: COMPARISON_GT value: ",
                    i, " } aggregate: FEATURE_AGGREGATE_MAX value_column: \"value_as_number\" } } "
                    "comparison: COMPARISON_LT values { number: ", 2 * i + 1, " } } } ");
  }
  trenode::v1::AggregateQuery query;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      absl::StrCat("cohort { any_of { ", criteria, "} } outputs { name: \"by_sex\" counts { "
                   "group_by { variable { column: \"sex\" } } } }"),
      &query));
  query.set_dataset_id(dataset_->id());
  std::string set_sql, correlated_sql;
  auto set_based = Run(query, PlanShape::kSetBased, &set_sql);
  auto correlated = Run(query, PlanShape::kCorrelated, &correlated_sql, nullptr, false);
  ASSERT_TRUE(set_based.ok()) << set_based.status();
  ASSERT_TRUE(correlated.ok()) << correlated.status();
  int joins = 0;
  const std::string cohort_sql = set_sql.substr(0, set_sql.find('\n'));  // not the lean one
  for (size_t at = cohort_sql.find("LEFT JOIN"); at != std::string::npos;
       at = cohort_sql.find("LEFT JOIN", at + 1)) {
    ++joins;
  }
  EXPECT_EQ(joins, 48);
  EXPECT_GT(set_based->result.cohort_size(), 0);
  google::protobuf::util::MessageDifferencer differ;
  EXPECT_TRUE(differ.Compare(correlated->result, set_based->result));
  EXPECT_TRUE(differ.Compare(correlated->internals, set_based->internals));
}

// A dataset file imported before event tables had person rowids (made here
// from the imported one: the column and its indexes dropped, the indexes of
// that time built): the node plans by person key for it, and every
// generated query answers as over the file with person rowids.
TEST_F(PlanDifferentialTest, FilesWithoutPersonRowidsArePlannedByKeyAndAnswerAlike) {
  const std::string old_file = dir_->File("before-rowids.sqlite");
  std::filesystem::copy_file(dir_->File("site.sqlite"), old_file);
  {
    auto db = storage::SqliteDb::Open(old_file);
    ASSERT_TRUE(db.ok()) << db.status();
    for (const char* table : {"condition_occurrence", "drug_exposure", "measurement"}) {
      auto indexes =
          *(*db)->Prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1");
      indexes.Bind(1, std::string(table));
      std::vector<std::string> names;
      while (*indexes.Step()) names.push_back(indexes.Text(0));
      ASSERT_EQ(names.size(), 2u) << table;
      for (const std::string& name : names) {
        ASSERT_TRUE((*db)->Exec(absl::StrCat("DROP INDEX \"", name, "\"")).ok());
      }
      ASSERT_TRUE((*db)->Exec(absl::StrCat("ALTER TABLE ", table, " DROP COLUMN _person")).ok());
    }
    ASSERT_TRUE((*db)
                    ->Exec("CREATE INDEX m_code ON measurement(measurement_code, value_as_number, "
                           "person_id); CREATE INDEX m_events ON measurement(person_id, "
                           "measurement_code, value_as_number, measurement_date); CREATE INDEX "
                           "c_code ON condition_occurrence(condition_code, person_id); CREATE "
                           "INDEX c_events ON condition_occurrence(person_id, condition_code); "
                           "ANALYZE")
                    .ok());
  }
  auto old_db = storage::SqliteDb::Open(old_file, storage::SqliteDb::Mode::kReadOnly);
  auto new_db =
      storage::SqliteDb::Open(dir_->File("site.sqlite"), storage::SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(old_db.ok() && new_db.ok());
  auto old_layout = FileHasPersonRowids(**old_db, *dataset_);
  auto new_layout = FileHasPersonRowids(**new_db, *dataset_);
  ASSERT_TRUE(old_layout.ok() && new_layout.ok());
  EXPECT_FALSE(*old_layout);
  EXPECT_TRUE(*new_layout);
  QueryGenerator generator(20261204);
  int compared = 0;
  for (int i = 0; i < 120; ++i) {
    std::string text = generator.Query();
    trenode::v1::AggregateQuery query;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &query)) << text;
    query.set_dataset_id(dataset_->id());
    // As the node plans: for the file's layout.
    CompileLimits by_key, by_rowid;
    by_key.person_rowids = *old_layout;
    by_rowid.person_rowids = *new_layout;
    auto old_plan = CompileQuery(query, *dataset_, by_key);
    auto new_plan = CompileQuery(query, *dataset_, by_rowid);
    ASSERT_EQ(old_plan.ok(), new_plan.ok()) << text;
    if (!old_plan.ok()) continue;
    auto old_answer = RunQuery(**old_db, *old_plan, **codes_);
    auto new_answer = RunQuery(**new_db, *new_plan, **codes_);
    ASSERT_TRUE(old_answer.ok()) << text << "\n" << old_answer.status();
    ASSERT_TRUE(new_answer.ok()) << text << "\n" << new_answer.status();
    CloseEnough close;
    EXPECT_TRUE(close.differ.Compare(old_answer->result, new_answer->result)) << text << "\n"
                                                                              << close.difference;
    close.difference.clear();
    EXPECT_TRUE(close.differ.Compare(old_answer->internals, new_answer->internals))
        << text << "\n"
        << close.difference;
    compared += old_plan->persons.sql != new_plan->persons.sql ||
                old_plan->value_passes.size() != new_plan->value_passes.size() ||
                (!old_plan->value_passes.empty() && old_plan->value_passes[0].statement.sql !=
                                                        new_plan->value_passes[0].statement.sql);
  }
  EXPECT_GE(compared, 60);  // queries whose plans differ by layout
}

// Counts and cross-tabulations of every person by person columns and ages,
// answered from the person columns read with the codes, against the cohort
// pass over the file (the same codes without their columns): every count,
// cell key and person set identical. The columns' answers are read from an
// empty database, so they cannot have come from the file.
TEST_F(PlanDifferentialTest, PersonColumnCountsAnswerExactlyAsTheCohortPass) {
  std::vector<std::optional<PersonCode>> by_rowid;
  for (int64_t rowid = 0; rowid < (*codes_)->rowid_end(); ++rowid) {
    by_rowid.push_back((*codes_)->Find(rowid));
  }
  const PersonCodes without_columns(std::move(by_rowid));
  ASSERT_NE((*codes_)->columns().Find("sex"), nullptr);
  ASSERT_NE((*codes_)->columns().Find("year_of_birth"), nullptr);
  auto file = storage::SqliteDb::Open(dir_->File("site.sqlite"), storage::SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(file.ok()) << file.status();
  auto empty = storage::SqliteDb::Open(dir_->File("empty.sqlite"),
                                       storage::SqliteDb::Mode::kReadWriteCreate);
  ASSERT_TRUE(empty.ok()) << empty.status();

  std::mt19937 random(20261203);
  auto pick = [&](int n) { return std::uniform_int_distribution<>(0, n - 1)(random); };
  // Boundaries on, between and beyond the data's ages and years.
  auto binning = [&](bool years) {
    static constexpr double kAges[] = {-5, 0, 17.5, 18, 40, 50, 60, 65.5, 70, 80, 95, 200};
    static constexpr double kYears[] = {1900, 1930, 1944, 1950.5, 1960, 1975, 1990, 2006, 2100};
    std::set<double> chosen;
    for (int n = 1 + pick(4); n > 0; --n) chosen.insert(years ? kYears[pick(9)] : kAges[pick(12)]);
    std::string text = "binning {";
    for (double boundary : chosen) absl::StrAppend(&text, " boundaries: ", boundary);
    return absl::StrCat(text, " }");
  };
  auto group = [&](const char* field) {
    switch (pick(4)) {
      case 0:
        return absl::StrCat(field, " { variable { column: \"sex\" } }");
      case 1:
        return absl::StrCat(field, " { variable { column: \"region\" } }");
      case 2:
        return absl::StrCat(field, " { variable { column: \"year_of_birth\" } ", binning(true),
                            " }");
      default:
        return absl::StrCat(field, " { variable { age { birth_column: \"year_of_birth\" } } ",
                            binning(false), " }");
    }
  };
  int compared = 0, from_columns = 0;
  for (int i = 0; i < 150; ++i) {
    std::string text = absl::StrCat("index_date: \"", 2000 + pick(30), "-06-30\" ");
    for (int o = 1 + pick(3); o > 0; --o) {
      std::string name = absl::StrCat("o", o);
      if (pick(2) == 0) {
        absl::StrAppend(&text, "outputs { name: \"", name, "\" crosstab { ", group("rows"), " ",
                        group("columns"), " } } ");
      } else {
        std::string groups;
        for (int g = 1 + pick(3); g > 0; --g) absl::StrAppend(&groups, group("group_by"), " ");
        absl::StrAppend(&text, "outputs { name: \"", name, "\" counts { ", groups, "} } ");
      }
    }
    // Some queries the columns cannot answer alone (a cohort), and some they
    // answer through the cohort pass's rows rather than by counting (a
    // summary).
    const int shape = pick(6);
    if (shape == 0) {
      absl::StrAppend(&text, "cohort { person { variable { column: \"sex\" } comparison: "
                             "COMPARISON_EQ values { text: \"F\" } } } ");
    } else if (shape == 1) {
      absl::StrAppend(&text, "outputs { name: \"s\" summary { value { column: "
                             "\"year_of_birth\" } group_by { variable { column: \"sex\" } } } } ");
    }
    trenode::v1::AggregateQuery query;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &query)) << text;
    query.set_dataset_id(dataset_->id());
    auto compiled = CompileQuery(query, *dataset_);
    ASSERT_TRUE(compiled.ok()) << text << "\n" << compiled.status();
    auto pass = RunQuery(**file, *compiled, without_columns);
    ASSERT_TRUE(pass.ok()) << text << "\n" << pass.status();
    auto columns = RunQuery(**file, *compiled, **codes_);
    ASSERT_TRUE(columns.ok()) << text << "\n" << columns.status();
    // Counts and persons exactly; a summary's sums and means to the last few
    // bits only: reading sex from memory, the pass may take the persons in
    // another order (the person key's index, not the person table).
    CloseEnough close;
    auto& differ = close.differ;
    std::string& difference = close.difference;
    EXPECT_TRUE(differ.Compare(pass->result, columns->result)) << text << "\n" << difference;
    EXPECT_TRUE(differ.Compare(pass->internals, columns->internals)) << text << "\n" << difference;
    EXPECT_EQ(pass->rows_read, columns->rows_read) << text;
    ++compared;
    // Only a query the columns answer runs without the file: by counting,
    // or every person's values from memory.
    auto alone = RunQuery(**empty, *compiled, **codes_);
    EXPECT_EQ(alone.ok(), shape >= 1) << text << "\n" << alone.status();
    if (!alone.ok()) continue;
    ++from_columns;
    EXPECT_TRUE(differ.Compare(pass->result, alone->result)) << text;
    EXPECT_TRUE(differ.Compare(pass->internals, alone->internals)) << text;
  }
  EXPECT_EQ(compared, 150);
  EXPECT_GE(from_columns, 80);
}

// Summaries and regressions whose groups and predictors are of the person
// table alone (columns, ages, indicators), with and without a cohort: the
// passes that read those values from the person columns in memory (lean
// statements, which do not read the person rows) against the passes that
// read them from the file (the same codes without their columns).
TEST_F(PlanDifferentialTest, PersonValuesReadFromMemoryAnswerAsTheFile) {
  std::vector<std::optional<PersonCode>> by_rowid;
  for (int64_t rowid = 0; rowid < (*codes_)->rowid_end(); ++rowid) {
    by_rowid.push_back((*codes_)->Find(rowid));
  }
  const PersonCodes without_columns(std::move(by_rowid));
  auto file =
      storage::SqliteDb::Open(dir_->File("site.sqlite"), storage::SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(file.ok()) << file.status();
  QueryGenerator generator(20261203);
  std::mt19937 random(7);
  auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(random) < p; };
  int lean = 0, summarised = 0, fitted = 0;
  for (int i = 0; i < 200; ++i) {
    std::string text = "index_date: \"2024-01-01\" ";
    if (chance(0.5)) absl::StrAppend(&text, "cohort { ", generator.Cohort(), " } ");
    absl::StrAppend(&text, "outputs { name: \"s\" summary { value { ",
                    chance(0.7) ? generator.ValueFeature() : "column: \"year_of_birth\"",
                    " } group_by { ", generator.PersonGroup(), " } } } ");
    if (chance(0.6)) {
      absl::StrAppend(&text, "outputs { name: \"r\" regression { outcome { ",
                      generator.ValueFeature(), " } predictors { ", generator.PersonNumber(),
                      " } predictors { ", generator.PersonNumber(), " } } } ");
    }
    trenode::v1::AggregateQuery query;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &query)) << text;
    query.set_dataset_id(dataset_->id());
    CompileLimits limits;
    limits.person_rowids = true;
    auto compiled = CompileQuery(query, *dataset_, limits);
    ASSERT_TRUE(compiled.ok()) << text << "\n" << compiled.status();
    ASSERT_FALSE(compiled->derived.empty()) << text;
    for (const ValuePass& pass : compiled->value_passes)
      lean += pass.lean.sql != pass.statement.sql;
    auto from_file = RunQuery(**file, *compiled, without_columns);
    ASSERT_TRUE(from_file.ok()) << text << "\n" << from_file.status();
    auto from_memory = RunQuery(**file, *compiled, **codes_);
    ASSERT_TRUE(from_memory.ok()) << text << "\n" << from_memory.status();
    // Counts and persons exactly; sums and means to the last few bits: the
    // lean passes may take the persons in another order.
    CloseEnough close;
    auto& differ = close.differ;
    std::string& difference = close.difference;
    EXPECT_TRUE(differ.Compare(from_file->result, from_memory->result)) << text << "\n"
                                                                        << difference;
    EXPECT_TRUE(differ.Compare(from_file->internals, from_memory->internals)) << text << "\n"
                                                                              << difference;
    EXPECT_EQ(from_file->rows_read, from_memory->rows_read) << text;
    for (const auto& table : from_memory->result.tables()) {
      if (table.has_regression()) fitted += table.regression().n() > 0;
      for (const auto& cell : table.cells()) summarised += cell.n() > 0;
    }
  }
  EXPECT_GE(lean, 80);  // passes of their own that read no person rows
  EXPECT_GE(summarised, 200);
  EXPECT_GE(fitted, 30);
}

// Passes that read one MIN or MAX feature alone: the feature's rows reduced
// by the node (ValuePass::lone) against SQLite's own grouping of the same
// rows (the lean statement), exactly: the same persons in the same order
// with the same values, so every sum is the same to the last bit.
TEST_F(PlanDifferentialTest, LoneFeaturesReducedByTheNodeAnswerExactlyAsGroupedBySqlite) {
  auto file =
      storage::SqliteDb::Open(dir_->File("site.sqlite"), storage::SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(file.ok()) << file.status();
  QueryGenerator generator(20261204);
  std::mt19937 random(11);
  auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(random) < p; };
  int lone = 0, summarised = 0, fitted = 0;
  for (int i = 0; i < 200; ++i) {
    std::string text = "index_date: \"2024-01-01\" ";
    if (chance(0.2)) absl::StrAppend(&text, "cohort { ", generator.Cohort(), " } ");
    const std::string feature = generator.ValueFeature();
    absl::StrAppend(&text, "outputs { name: \"s\" summary { value { ", feature, " } group_by { ",
                    chance(0.8) ? generator.PersonGroup()
                                : absl::StrCat("variable { ", feature,
                                               " } binning { boundaries: 20 boundaries: 40 }"),
                    " } } } ");
    if (chance(0.6)) {
      absl::StrAppend(&text, "outputs { name: \"r\" regression { outcome { ",
                      chance(0.7) ? feature : generator.ValueFeature(), " } predictors { ",
                      generator.PersonNumber(), " } } } ");
    }
    trenode::v1::AggregateQuery query;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &query)) << text;
    query.set_dataset_id(dataset_->id());
    CompileLimits limits;
    limits.person_rowids = true;
    auto compiled = CompileQuery(query, *dataset_, limits);
    ASSERT_TRUE(compiled.ok()) << text << "\n" << compiled.status();
    CompiledQuery grouped = *compiled;
    int lone_passes = 0;
    for (ValuePass& pass : grouped.value_passes) {
      lone_passes += pass.lone.has_value();
      pass.lone.reset();
    }
    if (lone_passes == 0) continue;
    lone += lone_passes;
    auto reduced = RunQuery(**file, *compiled, **codes_);
    ASSERT_TRUE(reduced.ok()) << text << "\n" << reduced.status();
    auto by_sqlite = RunQuery(**file, grouped, **codes_);
    ASSERT_TRUE(by_sqlite.ok()) << text << "\n" << by_sqlite.status();
    google::protobuf::util::MessageDifferencer differ;
    std::string difference;
    differ.ReportDifferencesToString(&difference);
    EXPECT_TRUE(differ.Compare(by_sqlite->result, reduced->result)) << text << "\n" << difference;
    EXPECT_TRUE(differ.Compare(by_sqlite->internals, reduced->internals)) << text << "\n"
                                                                          << difference;
    EXPECT_EQ(by_sqlite->rows_read, reduced->rows_read) << text;
    for (const auto& table : reduced->result.tables()) {
      if (table.has_regression()) fitted += table.regression().n() > 0;
      for (const auto& cell : table.cells()) summarised += cell.n() > 0;
    }
  }
  EXPECT_GE(lone, 150);
  EXPECT_GE(summarised, 300);
  EXPECT_GE(fitted, 40);
}

// Values the synthetic site never holds, in a file made by hand: missing
// years and sexes, a rare sex counted as "(other)", a REAL column, and an
// INTEGER column holding a real (an age from it is not counted by category
// lookup, but evaluated as SQLite would).
TEST(PersonColumnCountsTest, MissingRareAndRealValuesAnswerAsTheCohortPass) {
  testing::TempDir dir;
  {
    auto db = storage::SqliteDb::Open(dir.File("hand.sqlite"));
    ASSERT_TRUE(db.ok()) << db.status();
    std::string rows;
    for (int i = 0; i < 300; ++i) {
      std::string year = i % 17 == 0 ? "NULL" : absl::StrCat(1920 + (i * 7) % 90);
      std::string sex = i % 13 == 0 ? "NULL" : i % 41 == 0 ? "'X'" : i % 2 ? "'M'" : "'F'";
      std::string score = i % 11 == 0 ? "NULL" : absl::StrCat((i * 37) % 100 / 4.0);
      std::string odd = i == 150 ? "1950.5" : year;
      absl::StrAppend(&rows, i ? ", " : "", "('P", i, "', ", year, ", ", sex, ", ", score, ", ",
                      odd, ")");
    }
    ASSERT_TRUE((*db)->Exec(absl::StrCat("CREATE TABLE person (person_id TEXT, year_of_birth "
                                         "INTEGER, sex TEXT, score REAL, odd_year INTEGER); "
                                         "INSERT INTO person VALUES ",
                                         rows))
                    .ok());
  }
  trenode::v1::Dataset dataset;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    id: "hand" version: 1 person_table: "person"
    tables {
      name: "person"
      columns { name: "person_id" type: COLUMN_TYPE_TEXT is_person_key: true }
      columns { name: "year_of_birth" type: COLUMN_TYPE_INTEGER has_missing: true }
      columns {
        name: "sex" type: COLUMN_TYPE_TEXT categories: [ "F", "M" ] has_missing: true
        has_rare_values: true
      }
      columns { name: "score" type: COLUMN_TYPE_REAL has_missing: true }
      columns { name: "odd_year" type: COLUMN_TYPE_INTEGER has_missing: true }
    })pb", &dataset));
  MemoryPersonRegistry registry;
  PersonCodesCache cache(&registry);
  auto codes = cache.For(dataset, dir.File("hand.sqlite"));
  ASSERT_TRUE(codes.ok()) << codes.status();
  std::vector<std::optional<PersonCode>> by_rowid;
  for (int64_t rowid = 0; rowid < (*codes)->rowid_end(); ++rowid) {
    by_rowid.push_back((*codes)->Find(rowid));
  }
  const PersonCodes without_columns(std::move(by_rowid));
  auto file = storage::SqliteDb::Open(dir.File("hand.sqlite"), storage::SqliteDb::Mode::kReadOnly);
  ASSERT_TRUE(file.ok()) << file.status();
  auto empty = storage::SqliteDb::Open(dir.File("empty.sqlite"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  const std::string age = R"pb(variable { age { birth_column: "year_of_birth" } }
                               binning { boundaries: [ 30, 60, 90 ] })pb";
  const std::string odd_age = R"pb(variable { age { birth_column: "odd_year" } }
                                   binning { boundaries: [ 30, 60, 90 ] })pb";
  const std::string score = R"pb(variable { column: "score" } binning { boundaries: [ 5, 12.5 ] })pb";
  const std::string year =
      R"pb(variable { column: "odd_year" } binning { boundaries: [ 1950, 1950.5, 1951 ] })pb";
  struct Case {
    std::string outputs;
    bool from_columns;
  };
  const std::vector<Case> cases = {
      {absl::StrCat("outputs { name: \"a\" counts { group_by { variable { column: \"sex\" } } "
                    "group_by { ",
                    age, " } } }"),
       true},
      {absl::StrCat("outputs { name: \"x\" crosstab { rows { ", score,
                    " } columns { variable { column: \"sex\" } } } } outputs { name: \"y\" "
                    "counts { group_by { ",
                    year, " } } }"),
       true},
      {absl::StrCat("outputs { name: \"o\" counts { group_by { ", odd_age, " } } }"), true},
      // Every person's values from the person columns in memory: a real in
      // an INTEGER column, missing and rare values as the file has them.
      {absl::StrCat("outputs { name: \"s\" summary { value { age { birth_column: \"odd_year\" } "
                    "} group_by { variable { column: \"sex\" } } } } outputs { name: \"r\" "
                    "regression { outcome { column: \"score\" } predictors { age { birth_column: "
                    "\"odd_year\" } } predictors { indicator { person { variable { column: "
                    "\"sex\" } comparison: COMPARISON_NE values { text: \"F\" } } } } } }"),
       true},
  };
  int missing = 0, other = 0;
  for (const Case& c : cases) {
    trenode::v1::AggregateQuery query;
    const std::string text = absl::StrCat("index_date: \"2024-01-01\" ", c.outputs);
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &query)) << text;
    query.set_dataset_id("hand");
    auto compiled = CompileQuery(query, dataset);
    ASSERT_TRUE(compiled.ok()) << text << "\n" << compiled.status();
    auto pass = RunQuery(**file, *compiled, without_columns);
    ASSERT_TRUE(pass.ok()) << text << "\n" << pass.status();
    auto columns = RunQuery(**file, *compiled, **codes);
    ASSERT_TRUE(columns.ok()) << text << "\n" << columns.status();
    google::protobuf::util::MessageDifferencer differ;
    EXPECT_TRUE(differ.Compare(pass->result, columns->result)) << text;
    EXPECT_TRUE(differ.Compare(pass->internals, columns->internals)) << text;
    auto alone = RunQuery(**empty, *compiled, **codes);
    EXPECT_EQ(alone.ok(), c.from_columns) << text << "\n" << alone.status();
    if (alone.ok()) EXPECT_TRUE(differ.Compare(pass->result, alone->result)) << text;
    // Stopped (cancelled, or past its time limit) as the cohort pass is.
    (*empty)->SetStopCheck([] { return true; });
    auto stopped = RunQuery(**empty, *compiled, **codes);
    (*empty)->SetStopCheck(nullptr);
    if (c.from_columns) EXPECT_TRUE(absl::IsCancelled(stopped.status())) << stopped.status();
    for (const auto& table : pass->result.tables()) {
      for (const auto& cell : table.cells()) {
        for (const std::string& label : cell.group()) {
          missing += label == "(missing)" && cell.count() > 0;
          other += label == "(other)" && cell.count() > 0;
        }
      }
    }
  }
  EXPECT_GE(missing, 3);
  EXPECT_GE(other, 1);
}

}  // namespace
}  // namespace trenode::query
