// Aggregate queries on trenode-synth data, each result compared with the
// true answer computed independently by loops over the generated CSV files.
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "adapters/onprem/posix_object_store.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "node/query/compiler.h"
#include "node/query/person_sets.h"
#include "node/query/runner.h"
#include "node/ingest/dataset_builder.h"
#include "node/synth/generator.h"
#include "tests/testutil/heart_failure.h"
#include "tests/testutil/synth_dataset.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::query {
namespace {
using trenode::v1::AggregateQuery;
using trenode::v1::AggregateResult;
using trenode::v1::Dataset;
using trenode::v1::ResultCell;

constexpr char kLvef[] = "250908004";
constexpr char kBmi[] = "60621009";
constexpr int kIndexYear = 2024;

struct Measurement {
  std::string code;
  double value;
  std::string date;
};
struct Person {
  int year_of_birth;
  std::string sex, region;
  std::vector<std::string> conditions;
  std::vector<Measurement> measurements;
};

std::vector<std::vector<std::string>> ReadCsv(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) rows.push_back(absl::StrSplit(line, ','));
  return rows;
}

// One synthetic site: its dataset file, catalogue metadata and the CSVs as
// plain structs.
class QueryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const synth::SynthOptions options{5, 4000};
    auto built = testing::BuildSynthDataset(*dir_, options);
    ASSERT_TRUE(built.ok()) << built.status();
    dataset_ = new Dataset(*built);
    registry_ = new MemoryPersonRegistry();
    PersonCodesCache cache(registry_);
    auto codes = cache.For(*dataset_, dir_->File("site.sqlite"));
    ASSERT_TRUE(codes.ok()) << codes.status();
    codes_ = new std::shared_ptr<const PersonCodes>(*codes);
    persons_ = new std::map<std::string, Person>();
    for (const auto& row : ReadCsv(dir_->path() / "site" / "person.csv")) {
      (*persons_)[row[0]] = Person{std::stoi(row[1]), row[2], row[3], {}, {}};
    }
    for (const auto& row : ReadCsv(dir_->path() / "site" / "condition_occurrence.csv")) {
      persons_->at(row[1]).conditions.push_back(row[2]);
    }
    for (const auto& row : ReadCsv(dir_->path() / "site" / "measurement.csv")) {
      persons_->at(row[1]).measurements.push_back({row[2], std::stod(row[3]), row[5]});
    }
  }
  static void TearDownTestSuite() {
    delete codes_;
    delete registry_;
    delete persons_;
    delete dataset_;
    delete dir_;
  }

  static AggregateQuery Parse(const std::string& text) {
    AggregateQuery query;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &query)) << text;
    query.set_dataset_id(dataset_->id());
    return query;
  }

  static absl::StatusOr<QueryOutcome> RunWithInternals(const std::string& text,
                                                       const RunLimits& limits = {}) {
    auto db =
        storage::SqliteDb::Open(dir_->File("site.sqlite"), storage::SqliteDb::Mode::kReadOnly);
    if (!db.ok()) return db.status();
    // Planned for the file, as the node plans.
    auto rowids = FileHasPersonRowids(**db, *dataset_);
    if (!rowids.ok()) return rowids.status();
    EXPECT_TRUE(*rowids) << "imported files have person rowids";
    CompileLimits plan;
    plan.person_rowids = *rowids;
    auto compiled = CompileQuery(Parse(text), *dataset_, plan);
    if (!compiled.ok()) return compiled.status();
    return RunQuery(**db, *compiled, **codes_, limits);
  }

  static absl::StatusOr<AggregateResult> Run(const std::string& text,
                                             const RunLimits& limits = {}) {
    absl::StatusOr<QueryOutcome> outcome = RunWithInternals(text, limits);
    if (!outcome.ok()) return outcome.status();
    return outcome->result;
  }

  // The person ordinal the codes give each person key.
  static std::map<std::string, uint32_t> Ordinals() {
    std::map<std::string, uint32_t> ordinals;
    auto rows = ReadPersonKeys(*dataset_, dir_->File("site.sqlite"));
    EXPECT_TRUE(rows.ok());
    for (const auto& [rowid, key] : *rows) ordinals[key] = (*codes_)->Find(rowid)->ordinal;
    return ordinals;
  }

  static std::string Key(const ResultCell& cell) { return absl::StrJoin(cell.group(), "|"); }

  static bool HasCode(const Person& person, absl::string_view prefix) {
    return std::any_of(person.conditions.begin(), person.conditions.end(),
                       [&](const std::string& code) { return absl::StartsWith(code, prefix); });
  }
  static bool HasLowLvef(const Person& person) {
    return std::any_of(person.measurements.begin(), person.measurements.end(),
                       [](const Measurement& m) { return m.code == kLvef && m.value < 40; });
  }
  static std::string AgeBand(const Person& person) {
    int age = kIndexYear - person.year_of_birth;
    if (age < 40) return "<40";
    if (age >= 80) return ">=80";
    int lower = age / 10 * 10;
    return absl::StrCat("[", lower, ",", lower + 10, ")");
  }

  static testing::TempDir* dir_;
  static Dataset* dataset_;
  static MemoryPersonRegistry* registry_;
  static std::shared_ptr<const PersonCodes>* codes_;
  static std::map<std::string, Person>* persons_;
};
testing::TempDir* QueryTest::dir_;
Dataset* QueryTest::dataset_;
MemoryPersonRegistry* QueryTest::registry_;
std::shared_ptr<const PersonCodes>* QueryTest::codes_;
std::map<std::string, Person>* QueryTest::persons_;

// The question the synthetic data is built around: reduced ejection fraction
// without any heart-failure (I50*) diagnosis, by age band and sex.
TEST_F(QueryTest, UndiagnosedHeartFailureByAgeBandAndSex) {
  auto result =
      Run(absl::StrCat("index_date: \"2024-01-01\"", testing::kUndiagnosedHeartFailureCohort,
                       "outputs { name: \"undiagnosed_hf\" counts { group_by {",
                       testing::kAgeBandGroup, "} group_by { variable { column: \"sex\" } } } }"));
  ASSERT_TRUE(result.ok()) << result.status();

  std::map<std::string, int64_t> truth;
  int64_t cohort = 0;
  for (const auto& [id, person] : *persons_) {
    if (!HasLowLvef(person) || HasCode(person, "I50")) continue;
    ++truth[absl::StrCat(AgeBand(person), "|", person.sex)];
    ++cohort;
  }
  ASSERT_GT(cohort, 20) << "the synthetic site should hold undiagnosed heart failure";
  EXPECT_EQ(result->cohort_size(), cohort);
  ASSERT_EQ(result->tables_size(), 1);
  const auto& table = result->tables(0);
  EXPECT_EQ(absl::StrJoin(table.group_columns(), ","), "age_band,sex");
  std::map<std::string, int64_t> got;
  for (const ResultCell& cell : table.cells()) {
    if (cell.count() > 0) got[Key(cell)] = cell.count();
    EXPECT_EQ(cell.evidence().contributors(), cell.count());
  }
  EXPECT_EQ(got, truth);
  // Every combination of the declared categories is listed, zeros included:
  // six age bands by every sex the catalogue recorded.
  const trenode::v1::Column& sex = dataset_->tables(0).columns(2);
  ASSERT_EQ(sex.name(), "sex");
  EXPECT_EQ(table.cells_size(), 6 * sex.categories_size());
}

TEST_F(QueryTest, SummaryOfPersonMeanLvefBySexWithEvidence) {
  auto result = Run(R"pb(
    outputs {
      name: "lvef"
      summary {
        value {
          event_feature {
            aggregate: FEATURE_AGGREGATE_MEAN
            value_column: "value_as_number"
            filter { table: "measurement" code_column: "measurement_code" codes: "250908004" }
          }
        }
        group_by { variable { column: "sex" } }
      }
    })pb");
  ASSERT_TRUE(result.ok()) << result.status();

  struct Truth {
    int64_t count = 0, n = 0;
    double sum = 0, sum_of_squares = 0;
    std::vector<double> values;
  };
  std::map<std::string, Truth> truth;
  for (const auto& [id, person] : *persons_) {
    Truth& t = truth[person.sex];
    ++t.count;
    double sum = 0;
    int n = 0;
    for (const Measurement& m : person.measurements) {
      if (m.code == kLvef) sum += m.value, ++n;
    }
    if (n == 0) continue;
    double mean = sum / n;
    ++t.n;
    t.sum += mean;
    t.sum_of_squares += mean * mean;
    t.values.push_back(mean);
  }
  const auto& cells = result->tables(0).cells();
  ASSERT_EQ(cells.size(), truth.size());
  for (const ResultCell& cell : cells) {
    ASSERT_TRUE(truth.contains(cell.group(0))) << cell.group(0);
    const Truth& t = truth.at(cell.group(0));
    EXPECT_EQ(cell.count(), t.count);
    EXPECT_EQ(cell.n(), t.n);
    EXPECT_NEAR(cell.sum(), t.sum, 1e-6 * t.sum);
    EXPECT_NEAR(cell.sum_of_squares(), t.sum_of_squares, 1e-6 * t.sum_of_squares);
    double mean = t.sum / t.n;
    double variance = (t.sum_of_squares - t.n * mean * mean) / (t.n - 1);
    EXPECT_NEAR(cell.mean(), mean, 1e-9 * mean);
    EXPECT_NEAR(cell.sd(), std::sqrt(variance), 1e-6);
    std::vector<double> sorted = t.values;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    ASSERT_EQ(cell.evidence().largest_size(), 3);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(cell.evidence().largest(i), sorted[i], 1e-9);
    EXPECT_EQ(cell.evidence().contributors(), t.n);
    EXPECT_EQ(cell.evidence().negative_contributions(), 0);
    EXPECT_FALSE(cell.evidence().single_value());
  }
}

TEST_F(QueryTest, CrosstabHasEveryCellAndMargins) {
  auto result = Run(R"pb(
    cohort {
      events {
        filter {
          table: "condition_occurrence"
          code_column: "condition_code"
          codes: [ "I10", "E11.9" ]
        }
        min_count: 1
      }
    }
    outputs {
      name: "sex_by_region"
      crosstab {
        rows { variable { column: "sex" } }
        columns { variable { column: "region" } }
      }
    })pb");
  ASSERT_TRUE(result.ok()) << result.status();
  std::map<std::string, int64_t> truth;
  std::set<std::string> sexes, regions;
  for (const auto& [id, person] : *persons_) {
    sexes.insert(person.sex);
    regions.insert(person.region);
  }
  for (const auto& [id, person] : *persons_) {
    if (!HasCode(person, "I10") && !HasCode(person, "E11.9")) continue;
    ++truth[absl::StrCat(person.sex, "|", person.region)];
    ++truth[absl::StrCat(person.sex, "|Total")];
    ++truth[absl::StrCat("Total|", person.region)];
    ++truth["Total|Total"];
  }
  std::map<std::string, int64_t> got;
  int margins = 0;
  for (const ResultCell& cell : result->tables(0).cells()) {
    got[Key(cell)] = cell.count();
    margins += cell.margin();
  }
  for (const auto& [key, count] : got) {
    EXPECT_EQ(count, truth.count(key) ? truth[key] : 0) << key;
  }
  // Every combination is present, zeros included; margins are marked.
  EXPECT_EQ(got.size(), (sexes.size() + 1) * (regions.size() + 1));
  EXPECT_EQ(margins, static_cast<int>(sexes.size() + regions.size() + 1));
}

// Leverage is measured from the values kept in the first pass, or, with
// room for too few, by reading the cohort again: the same either way.
class RegressionTest : public QueryTest, public ::testing::WithParamInterface<size_t> {};
INSTANTIATE_TEST_SUITE_P(KeptOrReadAgain, RegressionTest,
                         ::testing::Values(RunLimits{}.kept_predictor_values, size_t{5}));

TEST_P(RegressionTest, RegressionSufficientStatistics) {
  // BMI (highest recorded) on age and hypertension.
  RunLimits limits;
  limits.kept_predictor_values = GetParam();
  auto result = Run(R"pb(
    index_date: "2024-06-30"
    outputs {
      name: "bmi"
      regression {
        outcome {
          event_feature {
            aggregate: FEATURE_AGGREGATE_MAX
            value_column: "value_as_number"
            filter { table: "measurement" code_column: "measurement_code" codes: "60621009" }
          }
        }
        predictors { age { birth_column: "year_of_birth" } }
        predictors {
          indicator {
            events {
              filter { table: "condition_occurrence" code_column: "condition_code" codes: "I10" }
            }
          }
        }
      }
    })pb",
                    limits);
  ASSERT_TRUE(result.ok()) << result.status();
  double xtx[3][3] = {}, xty[3] = {}, yty = 0;
  int64_t n = 0;
  std::vector<std::array<double, 3>> fitted;
  for (const auto& [id, person] : *persons_) {
    double y = -1;
    for (const Measurement& m : person.measurements) {
      if (m.code == kBmi) y = std::max(y, m.value);
    }
    if (y < 0) continue;
    double x[3] = {1, static_cast<double>(kIndexYear - person.year_of_birth),
                   HasCode(person, "I10") &&
                           std::count(person.conditions.begin(), person.conditions.end(), "I10")
                       ? 1.0
                       : 0.0};
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) xtx[i][j] += x[i] * x[j];
      xty[i] += x[i] * y;
    }
    yty += y * y;
    ++n;
    fitted.push_back({x[0], x[1], x[2]});
  }
  const auto& regression = result->tables(0).regression();
  EXPECT_EQ(absl::StrJoin(regression.terms(), ","), "intercept,age,indicator");
  EXPECT_EQ(regression.n(), n);
  EXPECT_EQ(result->cohort_size(), static_cast<int64_t>(persons_->size()));
  EXPECT_EQ(regression.residual_degrees_of_freedom(), n - 3);
  ASSERT_EQ(regression.xtx_size(), 9);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(regression.xtx(i * 3 + j), xtx[i][j], 1e-9 * std::fabs(xtx[i][j]) + 1e-9);
    }
    EXPECT_NEAR(regression.xty(i), xty[i], 1e-9 * std::fabs(xty[i]));
  }
  EXPECT_NEAR(regression.yty(), yty, 1e-9 * yty);
  // The largest leverage x'(X'X)^-1 x of any person fitted, the inverse by
  // cofactors: the second pass sees the same persons and values (the
  // query's bound values, such as the index date, kept).
  double cofactor[3][3];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
      cofactor[i][j] = xtx[r0][c0] * xtx[r1][c1] - xtx[r0][c1] * xtx[r1][c0];
    }
  }
  double determinant = 0;
  for (int j = 0; j < 3; ++j) determinant += xtx[0][j] * cofactor[j][0];
  double max_leverage = 0;
  for (const auto& x : fitted) {
    double leverage = 0;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) leverage += x[i] * cofactor[i][j] / determinant * x[j];
    }
    max_leverage = std::max(max_leverage, leverage);
  }
  EXPECT_GT(max_leverage, 0);
  EXPECT_NEAR(regression.max_leverage(), max_leverage, 1e-6 * max_leverage);
}

TEST_F(QueryTest, CriteriaCombineWithAndOrNotCountsAndWindows) {
  auto result = Run(R"pb(
    cohort {
      any_of {
        criteria {
          events {
            min_count: 2
            filter {
              table: "measurement"
              code_column: "measurement_code"
              codes: "271649006"
              date_column: "measurement_date"
              date_from: "2020-01-01"
              date_to: "2022-12-31"
            }
          }
        }
        criteria {
          all_of {
            criteria {
              person {
                variable { column: "sex" }
                comparison: COMPARISON_EQ
                values { text: "F" }
              }
            }
            criteria {
              person {
                variable { column: "region" }
                comparison: COMPARISON_IN
                values { text: "Wales" }
                values { text: "Scotland" }
              }
            }
            criteria {
              none_of {
                person {
                  variable { column: "year_of_birth" }
                  comparison: COMPARISON_GE
                  values { number: 1960 }
                }
              }
            }
          }
        }
      }
    }
    outputs {
      name: "total"
      counts {}
    })pb");
  ASSERT_TRUE(result.ok()) << result.status();
  int64_t truth = 0;
  for (const auto& [id, person] : *persons_) {
    int bp = 0;
    for (const Measurement& m : person.measurements) {
      bp += m.code == "271649006" && m.date >= "2020-01-01" && m.date <= "2022-12-31";
    }
    bool older_welsh_or_scottish_woman =
        person.sex == "F" && (person.region == "Wales" || person.region == "Scotland") &&
        !(person.year_of_birth >= 1960);
    truth += bp >= 2 || older_welsh_or_scottish_woman;
  }
  ASSERT_GT(truth, 0);
  ASSERT_EQ(result->tables(0).cells_size(), 1);
  EXPECT_EQ(result->tables(0).cells(0).count(), truth);
  EXPECT_EQ(result->cohort_size(), truth);
}

// Each refusal names the field and the reason; nothing is run.
TEST_F(QueryTest, RefusesUnknownNamesTypeMismatchesIdentifiersAndRowLevelOutput) {
  struct Case {
    std::string query, error;
  };
  const std::vector<Case> cases = {
      {R"pb(outputs {
              name: "a"
              counts { group_by { variable { column: "postcode" } } }
            })pb",
       "outputs[0].counts.group_by[0].variable.column: table person has no column \"postcode\""},
      {R"pb(cohort { events { filter { table: "visits" } } }
            outputs {
              name: "a"
              counts {}
            })pb",
       "cohort.events.filter.table: dataset synth-ehr-5 has no table \"visits\""},
      {R"pb(cohort {
              person {
                variable { column: "year_of_birth" }
                comparison: COMPARISON_LT
                values { text: "1950" }
              }
            }
            outputs {
              name: "a"
              counts {}
            })pb",
       "cohort.person.values[0]: year_of_birth is a number; give a finite number"},
      {R"pb(cohort {
              events { filter { table: "measurement" code_column: "value_as_number" codes: "1" } }
            }
            outputs {
              name: "a"
              counts {}
            })pb",
       "cohort.events.filter.code_column: value_as_number is not a TEXT column of codes"},
      {R"pb(outputs {
              name: "a"
              counts { group_by { variable { column: "person_id" } } }
            })pb",
       "outputs[0].counts.group_by[0].variable.column: person_id is a person identifier: "
       "queries cannot use identifiers"},
      {R"pb(outputs {
              name: "a"
              summary {
                value {
                  event_feature {
                    aggregate: FEATURE_AGGREGATE_MAX
                    value_column: "person_id"
                    filter { table: "measurement" }
                  }
                }
              }
            })pb",
       "outputs[0].summary.value.event_feature.value_column: person_id is a person identifier: "
       "queries cannot use identifiers"},
      // The person rowid column the import adds to event tables is no
      // column of the catalogue: a query cannot name it.
      {R"pb(outputs {
              name: "a"
              summary {
                value {
                  event_feature {
                    aggregate: FEATURE_AGGREGATE_MAX
                    value_column: "_person"
                    filter { table: "measurement" }
                  }
                }
              }
            })pb",
       "outputs[0].summary.value.event_feature.value_column: table measurement has no column "
       "\"_person\""},
      {R"pb(cohort {
              events {
                filter {
                  table: "measurement"
                  value_column: "_person"
                  value_comparison: COMPARISON_LT
                  value: 10
                }
              }
            }
            outputs {
              name: "a"
              counts {}
            })pb",
       "cohort.events.filter.value_column: table measurement has no column \"_person\""},
      {R"pb(outputs {
              name: "a"
              counts {
                group_by {
                  variable {
                    event_feature {
                      aggregate: FEATURE_AGGREGATE_MEAN
                      value_column: "value_as_number"
                      filter { table: "measurement" }
                    }
                  }
                }
              }
            })pb",
       "outputs[0].counts.group_by[0]: mean_measurement_value_as_number is a number: grouping "
       "by its values would list each one; give binning.boundaries"},
      {R"pb(outputs {
              name: "a"
              counts { group_by { variable { column: "year_of_birth" } } }
            })pb",
       "outputs[0].counts.group_by[0]: year_of_birth is a number: grouping by its values would "
       "list each one; give binning.boundaries"},
      {R"pb(outputs {
              name: "a"
              counts {
                group_by { variable { column: "region" } }
                group_by { variable { column: "region" } }
                group_by { variable { column: "region" } }
                group_by {
                  variable { column: "year_of_birth" }
                  binning {
                    boundaries: [
                      1930,
                      1935,
                      1940,
                      1945,
                      1950,
                      1955,
                      1960,
                      1965,
                      1970,
                      1975,
                      1980,
                      1985,
                      1990,
                      1995,
                      2000
                    ]
                  }
                }
              }
            })pb",
       "outputs[0].counts.group_by[3]: the groups make more than 10000 cells (every combination "
       "is listed); coarsen them"},
      {R"pb(outputs {
              name: "a"
              counts {
                group_by {
                  variable {
                    event_feature {
                      aggregate: FEATURE_AGGREGATE_MAX
                      value_column: "measurement_date"
                      filter { table: "measurement" }
                    }
                  }
                }
              }
            })pb",
       "outputs[0].counts.group_by[0].variable.event_feature.value_column: measurement_date is "
       "not a number"},
      {R"pb(outputs {
              name: "a"
              counts {
                group_by {
                  variable { column: "sex" }
                  binning { boundaries: 1 }
                }
              }
            })pb",
       "outputs[0].counts.group_by[0].binning: sex is not a number and cannot be binned"},
      {R"pb(outputs {
              name: "a"
              summary { value { column: "region" } }
            })pb",
       "outputs[0].summary.value: region is not a number"},
      {R"pb(outputs {
              name: "a"
              counts { group_by { variable { age { birth_column: "year_of_birth" } } } }
            })pb",
       "index_date: is required when ages are used"},
      {R"pb(index_date: "2024-13-01"
            outputs {
              name: "a"
              counts {}
            })pb",
       "index_date: \"2024-13-01\" is not a date in the form YYYY-MM-DD"},
      {R"pb(outputs {
              name: "a"
              counts {}
            }
            outputs {
              name: "a"
              counts {}
            })pb",
       "outputs[1].name: \"a\" names two outputs"},
      {R"pb(outputs {
              name: "Bad Name"
              counts {}
            })pb",
       "outputs[0].name: \"Bad Name\" is not a name [a-z][a-z0-9_]{0,63}"},
      {"", "outputs: ask for at least one output"},
      {R"pb(cohort { events { filter { table: "person" } } }
            outputs {
              name: "a"
              counts {}
            })pb",
       "cohort.events.filter.table: is the person table; use a person criterion or variable "
       "instead"},
  };
  for (const Case& c : cases) {
    auto compiled = CompileQuery(Parse(c.query), *dataset_);
    EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument) << c.query;
    EXPECT_EQ(std::string(compiled.status().message()), c.error) << c.query;
  }
}

// Literals are bound, never spliced: a quote in a value is just text.
TEST_F(QueryTest, ValuesAreBoundNotSpliced) {
  auto result = Run(R"pb(
    cohort {
      person {
        variable { column: "region" }
        comparison: COMPARISON_EQ
        values { text: "x' OR 1=1 --" }
      }
    }
    outputs {
      name: "a"
      counts {}
    })pb");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->cohort_size(), 0);
}

// The persons behind each cell are kept beside the result: exactly the
// cohort members of that cell, by their stable ordinals, and the joint table
// of the linked counts sums to each output.
TEST_F(QueryTest, KeepsThePersonsBehindEveryCellAndTheJointTable) {
  auto outcome = RunWithInternals(R"pb(
    outputs { name: "by_region" counts { group_by { variable { column: "region" } } } }
    outputs {
      name: "by_region_sex"
      counts {
        group_by { variable { column: "region" } }
        group_by { variable { column: "sex" } }
      }
    })pb");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  std::map<std::string, uint32_t> ordinals = Ordinals();
  std::map<std::string, PersonSet> truth;
  for (const auto& [id, person] : *persons_) truth[person.region].push_back(ordinals.at(id));
  const auto& by_region = outcome->result.tables(0);
  const auto& kept = outcome->internals.outputs(0);
  ASSERT_EQ(kept.cells_size(), by_region.cells_size());
  for (int i = 0; i < by_region.cells_size(); ++i) {
    PersonSet expected = truth[by_region.cells(i).group(0)];
    std::sort(expected.begin(), expected.end());
    auto decoded = DecodePersons(kept.cells(i).persons());
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, expected) << by_region.cells(i).group(0);
    EXPECT_EQ(static_cast<int64_t>(decoded->size()), by_region.cells(i).count());
  }
  // One joint variable each for region and sex: region x sex, whose row
  // sums are the first output.
  const auto& joint = outcome->internals.joint();
  ASSERT_EQ(joint.variables_size(), 2);
  int sexes = joint.variables(1).labels_size();
  for (int r = 0; r < by_region.cells_size(); ++r) {
    int64_t sum = 0;
    for (int c = 0; c < sexes; ++c) sum += joint.counts(r * sexes + c);
    EXPECT_EQ(sum, by_region.cells(r).count());
  }
}

// Bins sharing a variable refine to the union of their boundaries, and
// boundaries print exactly, so two bins never share a label.
TEST_F(QueryTest, BinsPrintExactlyAndRefineAcrossOutputs) {
  auto outcome = RunWithInternals(R"pb(
    outputs {
      name: "a"
      counts {
        group_by {
          variable { column: "year_of_birth" }
          binning { boundaries: [ 1950.0000001, 1950.0000002 ] }
        }
      }
    }
    outputs {
      name: "b"
      counts {
        group_by {
          variable { column: "year_of_birth" }
          binning { boundaries: [ 1960 ] }
        }
      }
    })pb");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  std::vector<std::string> labels;
  for (const ResultCell& cell : outcome->result.tables(0).cells()) labels.push_back(Key(cell));
  EXPECT_EQ(absl::StrJoin(labels, " "),
            "<1950.0000001 [1950.0000001,1950.0000002) >=1950.0000002");
  const auto& joint = outcome->internals.joint();
  ASSERT_EQ(joint.variables_size(), 1);
  EXPECT_EQ(absl::StrJoin(joint.variables(0).labels(), " "),
            "<1950.0000001 [1950.0000001,1950.0000002) [1950.0000002,1960) >=1960");
  const auto& mapping = outcome->internals.outputs(1).groups(0);
  EXPECT_EQ(absl::StrJoin(mapping.output_category(), ","), "0,0,0,1");
}

}  // namespace
}  // namespace trenode::query
