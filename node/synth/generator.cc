#include "node/synth/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/text_format.h"
#include "node/synth/random.h"

namespace trenode::synth {
namespace {
using trenode::v1::Dataset;

constexpr int kIndexYear = 2024;
constexpr int kFirstYear = 2015;
constexpr double kReducedLvef = 40.0;

struct Coded {
  const char* code;
  const char* name;
};

constexpr const char* kRegions[] = {"North East",    "North West", "Yorkshire", "East Midlands",
                                    "West Midlands", "East",       "London",    "South East",
                                    "South West",    "Wales",      "Scotland"};

constexpr Coded kHeartFailureCodes[] = {{"I50.0", "Congestive heart failure"},
                                        {"I50.1", "Left ventricular failure"},
                                        {"I50.9", "Heart failure, unspecified"}};

// BNF presentation-level codes.
constexpr Coded kFurosemide{"0202020L0", "Furosemide"};
constexpr Coded kBisoprolol{"0204000H0", "Bisoprolol"};
constexpr Coded kRamipril{"0205051R0", "Ramipril"};
constexpr Coded kAmlodipine{"0206020A0", "Amlodipine"};
constexpr Coded kAtorvastatin{"0212000B0", "Atorvastatin"};
constexpr Coded kMetformin{"0601022B0", "Metformin"};

// SNOMED CT observable entities.
constexpr Coded kLvef{"250908004", "Left ventricular ejection fraction"};
constexpr Coded kSystolicBp{"271649006", "Systolic blood pressure"};
constexpr Coded kBmi{"60621009", "Body mass index"};

class CsvFile {
 public:
  CsvFile(const std::filesystem::path& path, const char* header)
      : out_(std::fopen(path.c_str(), "w")) {
    if (out_) std::fputs(header, out_);
  }
  ~CsvFile() {
    if (out_) std::fclose(out_);
  }
  bool ok() const { return out_ != nullptr && !std::ferror(out_); }
  void Line(const std::string& line) {
    std::fputs(line.c_str(), out_);
    std::fputc('\n', out_);
  }
  bool Close() {
    bool good = out_ && !std::ferror(out_) && std::fclose(out_) == 0;
    out_ = nullptr;
    return good;
  }

 private:
  std::FILE* out_;
};

std::string Date(Random& random, int from_year = kFirstYear) {
  int year = from_year + static_cast<int>(random.Below(kIndexYear - from_year + 1));
  int month = 1 + static_cast<int>(random.Below(12));
  int day = 1 + static_cast<int>(random.Below(28));
  return absl::StrFormat("%04d-%02d-%02d", year, month, day);
}

// Probability of heart failure by age and sex: rare before 50, about one in
// ten past 85, men more often.
double HeartFailureRisk(int age, bool male) {
  double logit = -9.0 + 0.085 * age + (male ? 0.3 : 0.0);
  return 1.0 / (1.0 + std::exp(-logit));
}

struct Writers {
  CsvFile person, condition, drug, measurement;
  int64_t condition_id = 0, drug_id = 0, measurement_id = 0;

  void AddCondition(const std::string& person_id, const char* code, const std::string& date) {
    condition.Line(absl::StrCat(++condition_id, ",", person_id, ",", code, ",", date));
  }
  void AddDrug(const std::string& person_id, const Coded& drug, const std::string& date) {
    this->drug.Line(
        absl::StrCat(++drug_id, ",", person_id, ",", drug.code, ",", drug.name, ",", date));
  }
  void AddMeasurement(const std::string& person_id, const Coded& what, double value,
                      const char* unit, const std::string& date) {
    measurement.Line(absl::StrCat(++measurement_id, ",", person_id, ",", what.code, ",",
                                  absl::StrFormat("%.1f", value), ",", unit, ",", date));
  }
};

void GeneratePerson(Random& random, uint64_t seed, int64_t index, Writers& out) {
  std::string person_id = absl::StrFormat("P%016x", Mix64(seed * 0x100000001b3ULL ^ index));
  // Ages 18..100, weighted towards the middle years.
  int age = 18 + static_cast<int>(82.0 * std::pow(random.Uniform(), 1.25));
  bool male = random.Chance(0.49);
  // Each site draws most of its people from a "home" region.
  const char* region = random.Chance(0.7) ? kRegions[seed % std::size(kRegions)]
                                          : kRegions[random.Below(std::size(kRegions))];
  out.person.Line(
      absl::StrCat(person_id, ",", kIndexYear - age, ",", male ? "M" : "F", ",", region));

  bool hypertension = random.Chance(0.05 + 0.005 * age);
  bool diabetes = random.Chance(0.02 + 0.0015 * age);
  bool heart_failure = random.Chance(HeartFailureRisk(age, male));
  bool reduced_ef = heart_failure && random.Chance(0.5);
  bool diagnosed = heart_failure && random.Chance(0.7);

  if (hypertension) {
    out.AddCondition(person_id, "I10", Date(random));
    out.AddDrug(person_id, random.Chance(0.5) ? kAmlodipine : kRamipril, Date(random));
    out.AddMeasurement(person_id, kSystolicBp, random.Normal(150, 12), "mmHg", Date(random));
  } else if (random.Chance(0.4)) {
    out.AddMeasurement(person_id, kSystolicBp, random.Normal(125, 10), "mmHg", Date(random));
  }
  if (diabetes) {
    out.AddCondition(person_id, "E11.9", Date(random));
    out.AddDrug(person_id, kMetformin, Date(random));
  }
  if (random.Chance(0.2 + 0.004 * age)) out.AddDrug(person_id, kAtorvastatin, Date(random));
  if (random.Chance(0.6)) {
    out.AddMeasurement(person_id, kBmi, random.Normal(diabetes ? 31 : 27, 4), "kg/m2",
                       Date(random));
  }

  if (heart_failure) {
    if (diagnosed) {
      const Coded& code = kHeartFailureCodes[random.Below(std::size(kHeartFailureCodes))];
      out.AddCondition(person_id, code.code, Date(random, 2018));
    }
    // Loop diuretics are a clue even where the diagnosis was never recorded.
    if (random.Chance(diagnosed ? 0.8 : 0.35)) out.AddDrug(person_id, kFurosemide, Date(random));
    if (diagnosed && random.Chance(0.6)) out.AddDrug(person_id, kBisoprolol, Date(random));
    if (random.Chance(0.8)) {
      double lvef = reduced_ef ? random.Normal(30, 6) : random.Normal(55, 5);
      out.AddMeasurement(person_id, kLvef, std::clamp(lvef, 10.0, 80.0), "%", Date(random, 2017));
    }
  } else if (random.Chance(0.02 + 0.001 * age)) {
    // Echocardiograms for other reasons: mostly normal, occasionally borderline.
    out.AddMeasurement(person_id, kLvef, std::clamp(random.Normal(60, 6), kReducedLvef - 5, 80.0),
                       "%", Date(random, 2017));
  }
}

trenode::v1::Column* AddColumn(
    trenode::v1::Table* table, const char* name, trenode::v1::ColumnType type,
    const char* description,
    trenode::v1::CodingSystem coding = trenode::v1::CODING_SYSTEM_UNSPECIFIED) {
  auto* column = table->add_columns();
  column->set_name(name);
  column->set_type(type);
  column->set_description(description);
  column->set_coding_system(coding);
  return column;
}

}  // namespace

Dataset SiteMetadata(const SynthOptions& options) {
  using trenode::v1::COLUMN_TYPE_DATE;
  using trenode::v1::COLUMN_TYPE_INTEGER;
  using trenode::v1::COLUMN_TYPE_REAL;
  using trenode::v1::COLUMN_TYPE_TEXT;
  Dataset d;
  d.set_id(absl::StrCat("synth-ehr-", options.seed));
  d.set_title(
      absl::StrCat("Synthetic primary and secondary care records (site ", options.seed, ")"));
  d.set_description(
      "Synthetic, pseudonymised electronic health records in an OMOP-like shape: people, "
      "diagnoses (ICD-10), prescriptions (BNF) and measurements (SNOMED CT) including "
      "echocardiogram left ventricular ejection fraction. Built to study undiagnosed heart "
      "failure. Entirely synthetic: no real person is described.");
  d.set_publisher("trenode synthetic data generator");
  d.mutable_custodian()->set_name("Synthetic Data Steward");
  d.mutable_custodian()->set_email("steward@example.org");
  for (const char* keyword :
       {"heart failure", "echocardiogram", "LVEF", "cardiology", "primary care", "synthetic"}) {
    d.add_keywords(keyword);
  }
  d.add_themes("Cardiovascular");
  d.add_themes("Health records");
  d.mutable_temporal_coverage()->set_start_date(absl::StrCat(kFirstYear, "-01-01"));
  d.mutable_temporal_coverage()->set_end_date(absl::StrCat(kIndexYear, "-12-31"));
  d.set_sensitivity(trenode::v1::SENSITIVITY_PSEUDONYMISED);
  d.set_access_conditions("Approved projects only; outputs pass disclosure control.");
  d.set_person_table("person");

  auto* person = d.add_tables();
  person->set_name("person");
  person->set_description("One row per person");
  AddColumn(person, "person_id", COLUMN_TYPE_TEXT, "Pseudonymised person identifier")
      ->set_is_person_key(true);
  AddColumn(person, "year_of_birth", COLUMN_TYPE_INTEGER, "Year of birth");
  AddColumn(person, "sex", COLUMN_TYPE_TEXT, "Recorded sex: F or M");
  AddColumn(person, "region", COLUMN_TYPE_TEXT, "Region of residence");

  auto* condition = d.add_tables();
  condition->set_name("condition_occurrence");
  condition->set_description("Recorded diagnoses");
  AddColumn(condition, "condition_occurrence_id", COLUMN_TYPE_INTEGER, "Row identifier");
  AddColumn(condition, "person_id", COLUMN_TYPE_TEXT, "Pseudonymised person identifier")
      ->set_is_person_key(true);
  AddColumn(condition, "condition_code", COLUMN_TYPE_TEXT, "Diagnosis code",
            trenode::v1::CODING_SYSTEM_ICD10);
  AddColumn(condition, "condition_start_date", COLUMN_TYPE_DATE, "Date of diagnosis");

  auto* drug = d.add_tables();
  drug->set_name("drug_exposure");
  drug->set_description("Prescriptions issued");
  AddColumn(drug, "drug_exposure_id", COLUMN_TYPE_INTEGER, "Row identifier");
  AddColumn(drug, "person_id", COLUMN_TYPE_TEXT, "Pseudonymised person identifier")
      ->set_is_person_key(true);
  AddColumn(drug, "drug_code", COLUMN_TYPE_TEXT, "BNF presentation code",
            trenode::v1::CODING_SYSTEM_BNF);
  AddColumn(drug, "drug_name", COLUMN_TYPE_TEXT, "Drug name");
  AddColumn(drug, "drug_start_date", COLUMN_TYPE_DATE, "Date prescribed");

  auto* measurement = d.add_tables();
  measurement->set_name("measurement");
  measurement->set_description(
      "Observations and test results, including echocardiogram ejection fraction");
  AddColumn(measurement, "measurement_id", COLUMN_TYPE_INTEGER, "Row identifier");
  AddColumn(measurement, "person_id", COLUMN_TYPE_TEXT, "Pseudonymised person identifier")
      ->set_is_person_key(true);
  AddColumn(measurement, "measurement_code", COLUMN_TYPE_TEXT,
            "What was measured (e.g. 250908004 left ventricular ejection fraction, LVEF)",
            trenode::v1::CODING_SYSTEM_SNOMED_CT);
  AddColumn(measurement, "value_as_number", COLUMN_TYPE_REAL, "Measured value");
  AddColumn(measurement, "unit", COLUMN_TYPE_TEXT, "Unit of the value");
  AddColumn(measurement, "measurement_date", COLUMN_TYPE_DATE, "Date measured");
  return d;
}

absl::Status GenerateSite(const SynthOptions& options, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  fs::path root(dir);
  Writers out{
      {root / "person.csv", "person_id,year_of_birth,sex,region\n"},
      {root / "condition_occurrence.csv",
       "condition_occurrence_id,person_id,condition_code,condition_start_date\n"},
      {root / "drug_exposure.csv",
       "drug_exposure_id,person_id,drug_code,drug_name,drug_start_date\n"},
      {root / "measurement.csv",
       "measurement_id,person_id,measurement_code,value_as_number,unit,measurement_date\n"}};
  if (!out.person.ok() || !out.condition.ok() || !out.drug.ok() || !out.measurement.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot create CSV files in ", dir));
  }
  Random random(Mix64(options.seed));
  for (int64_t i = 0; i < options.persons; ++i) GeneratePerson(random, options.seed, i, out);
  if (!out.person.Close() || !out.condition.Close() || !out.drug.Close() ||
      !out.measurement.Close()) {
    return absl::UnavailableError(absl::StrCat("cannot write CSV files in ", dir));
  }
  std::string metadata;
  google::protobuf::TextFormat::PrintToString(SiteMetadata(options), &metadata);
  std::ofstream meta(root / "dataset.textproto");
  meta << "# Catalogue metadata for the synthetic site (trenode.v1.Dataset, text format).\n"
       << metadata;
  if (!meta.flush())
    return absl::UnavailableError(absl::StrCat("cannot write ", dir, "/dataset.textproto"));
  return absl::OkStatus();
}

}  // namespace trenode::synth
