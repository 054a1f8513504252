// Aggregate queries on trenode-synth data, each result compared with the
// true answer computed independently by loops over the generated CSV files.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "adapters/onprem/posix_object_store.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "node/analyses/query_compiler.h"
#include "node/analyses/query_runner.h"
#include "node/ingest/dataset_builder.h"
#include "node/synth/generator.h"
#include "tests/testutil/heart_failure.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::analyses {
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
    ASSERT_TRUE(synth::GenerateSite(options, dir_->File("site")).ok());
    std::filesystem::remove(dir_->path() / "site" / "dataset.textproto");
    auto source = *adapters::PosixObjectStore::Open(dir_->path() / "site");
    auto built =
        ingest::BuildDatasetFile(*source, synth::SiteMetadata(options), dir_->File("site.sqlite"));
    ASSERT_TRUE(built.ok()) << built.status();
    dataset_ = new Dataset(*built);
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

  static absl::StatusOr<AggregateResult> Run(const std::string& text) {
    auto compiled = CompileQuery(Parse(text), *dataset_);
    if (!compiled.ok()) return compiled.status();
    auto db =
        storage::SqliteDb::Open(dir_->File("site.sqlite"), storage::SqliteDb::Mode::kReadOnly);
    if (!db.ok()) return db.status();
    return RunQuery(**db, *compiled);
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
  static std::map<std::string, Person>* persons_;
};
testing::TempDir* QueryTest::dir_;
Dataset* QueryTest::dataset_;
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
    got[Key(cell)] = cell.count();
    EXPECT_EQ(cell.evidence().contributors(), cell.count());
  }
  EXPECT_EQ(got, truth);
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

TEST_F(QueryTest, RegressionSufficientStatistics) {
  // BMI (highest recorded) on age and hypertension.
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
    })pb");
  ASSERT_TRUE(result.ok()) << result.status();
  double xtx[3][3] = {}, xty[3] = {}, yty = 0;
  int64_t n = 0;
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
       "outputs[0].counts.group_by[0]: mean_measurement_value_as_number is a real number: "
       "grouping by its values would return row-level data; give binning.boundaries"},
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
    EXPECT_EQ(compiled.status().message(), c.error) << c.query;
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

}  // namespace
}  // namespace trenode::analyses
