#include "tests/bench/query_bench_cases.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tests/testutil/heart_failure.h"

namespace trenode::bench {
namespace {

constexpr char kTotal[] = "Total";  // the node's margin label
constexpr double kRelativeTolerance = 1e-9;

// Persons by age at 2024-01-01 in the node's bands and by the person column
// `column`, with the node's labels: grouped on a small integer band, the
// labels put on the few groups after (grouping the raw year and column
// first, then binning, measured no faster: sorting the million rows for
// GROUP BY is the cost either way).
std::string AgeBandBySql(const char* column) {
  return absl::StrCat(
      "SELECT CASE b WHEN 0 THEN '<40' WHEN 1 THEN '[40,50)' WHEN 2 THEN '[50,60)' WHEN 3 THEN "
      "'[60,70)' WHEN 4 THEN '[70,80)' WHEN 5 THEN '>=80' ELSE '(missing)' END, g, n FROM "
      "(SELECT CASE WHEN year_of_birth IS NULL THEN 6 WHEN 2024 - year_of_birth < 40 THEN 0 WHEN "
      "2024 - year_of_birth < 50 THEN 1 WHEN 2024 - year_of_birth < 60 THEN 2 WHEN 2024 - "
      "year_of_birth < 70 THEN 3 WHEN 2024 - year_of_birth < 80 THEN 4 ELSE 5 END AS b, ",
      column, " AS g, COUNT(*) AS n FROM person GROUP BY 1, 2)");
}

// The persons' largest value of one measurement code, by person rowid (the
// column the node's import adds to event tables), read already grouped from
// the covering (code, person rowid, value, date) index.
std::string MaxOfCodeSql(const char* code) {
  return absl::StrCat(
      "(SELECT _person, MAX(value_as_number) AS v FROM measurement WHERE measurement_code = '",
      code, "' GROUP BY _person)");
}

constexpr char kLvef[] = "250908004";
constexpr char kBmi[] = "60621009";

std::vector<BenchCase> MakeCases() {
  const std::string age_band_by_sex = AgeBandBySql("sex");
  const std::string age_band_by_region = AgeBandBySql("region");
  // Persons by sex from the person table; the values through a join from
  // the pre-grouped values to the persons by rowid (cheaper than a LEFT JOIN
  // from every person).
  const std::string bmi_by_sex = absl::StrCat(
      "SELECT sex, SUM(c), SUM(n), SUM(s), SUM(ss) FROM (SELECT sex, COUNT(*) AS c, 0 AS n, 0.0 "
      "AS s, 0.0 AS ss FROM person GROUP BY 1 UNION ALL SELECT p.sex, 0, COUNT(*), SUM(b.v), "
      "SUM(b.v * b.v) FROM ",
      MaxOfCodeSql(kBmi),
      " AS b JOIN person AS p ON p.rowid = b._person WHERE b.v IS NOT NULL GROUP BY 1) "
      "GROUP BY 1");
  const std::string lvef_regression = absl::StrCat(
      "SELECT COUNT(*), SUM(a), SUM(m), SUM(a * a), SUM(a * m), SUM(m * m), SUM(y), SUM(a * y), "
      "SUM(m * y), SUM(y * y) FROM (SELECT 2024 - p.year_of_birth AS a, CASE WHEN p.sex = 'M' "
      "THEN 1 ELSE 0 END AS m, l.v AS y FROM ",
      MaxOfCodeSql(kLvef),
      " AS l JOIN person AS p ON p.rowid = l._person WHERE l.v IS NOT NULL AND "
      "p.year_of_birth IS NOT NULL)");

  const std::string max_feature = R"pb(
      event_feature {
        filter { table: "measurement" code_column: "measurement_code" codes: "CODE" }
        aggregate: FEATURE_AGGREGATE_MAX
        value_column: "value_as_number"
      })pb";
  auto feature_of = [&](const char* code) {
    std::string text = max_feature;
    text.replace(text.find("CODE"), 4, code);
    return text;
  };
  const std::string age_band = trenode::testing::kAgeBandGroup;
  return {
      {"count by age band x sex",
       absl::StrCat(R"pb(index_date: "2024-01-01"
                         outputs { name: "c"
                                   counts { group_by {)pb",
                    age_band, "} group_by { variable { column: \"sex\" } } } }"),
       age_band_by_sex, HandShape::kCounts, 2},
      {"undiagnosed heart failure by sex",
       absl::StrCat(trenode::testing::kUndiagnosedHeartFailureCohort,
                    R"pb(outputs {
                           name: "c"
                           counts { group_by { variable { column: "sex" } } }
                         })pb"),
       // The best hand-written shape, not the per-person lookups the node
       // once compiled to: from the measurements' covering index (each
       // person once, already in order), less the anti-join's set, then each
       // person's sex by rowid. 1.3x faster here than starting from the
       // persons with IN and NOT IN sets.
       "SELECT p.sex, COUNT(*) FROM (SELECT _person AS k FROM measurement WHERE "
       "measurement_code = '250908004' AND value_as_number < 40 AND _person NOT IN (SELECT "
       "_person FROM condition_occurrence WHERE condition_code >= 'I50' AND condition_code < "
       "'I51') GROUP BY _person) AS s JOIN person AS p ON p.rowid = s.k GROUP BY 1",
       HandShape::kCounts, 1},
      {"crosstab age band x region",
       absl::StrCat(R"pb(index_date: "2024-01-01"
                         outputs { name: "x"
                                   crosstab { rows {)pb",
                    age_band, "} columns { variable { column: \"region\" } } } }"),
       age_band_by_region, HandShape::kCrosstab, 2},
      {"summary of max BMI by sex",
       absl::StrCat(R"pb(outputs { name: "s"
                                   summary { value {)pb",
                    feature_of(kBmi), "} group_by { variable { column: \"sex\" } } } }"),
       bmi_by_sex, HandShape::kSummary, 1},
      {"regression max LVEF ~ age + male",
       absl::StrCat(R"pb(index_date: "2024-01-01"
                         outputs { name: "r"
                                   regression { outcome {)pb",
                    feature_of(kLvef),
                    R"pb(}
                         predictors { age { birth_column: "year_of_birth" } }
                         predictors {
                           indicator {
                             person {
                               variable { column: "sex" }
                               comparison: COMPARISON_EQ
                               values { text: "M" }
                             }
                           }
                         } } })pb"),
       lvef_regression, HandShape::kRegression, 2},
  };
}

std::optional<double> AsNumber(const SqlValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&value)) return *d;
  return std::nullopt;
}

std::optional<int64_t> AsCount(const SqlValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  // SUM over an empty set is NULL, and some engines sum counts as doubles.
  if (std::holds_alternative<std::monostate>(value)) return 0;
  if (const auto* d = std::get_if<double>(&value); d && *d == std::floor(*d)) {
    return static_cast<int64_t>(*d);
  }
  return std::nullopt;
}

std::string AsLabel(const SqlValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* i = std::get_if<int64_t>(&value)) return absl::StrCat(*i);
  if (const auto* d = std::get_if<double>(&value)) return absl::StrCat(*d);
  return "(missing)";
}

// Solves the symmetric system a·x = b (n x n, row-major) by Gaussian
// elimination with partial pivoting; empty if it is singular.
std::vector<double> Solve(std::vector<double> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t row = col + 1; row < n; ++row) {
      if (std::fabs(a[row * n + col]) > std::fabs(a[pivot * n + col])) pivot = row;
    }
    if (a[pivot * n + col] == 0) return {};
    for (size_t k = 0; k < n; ++k) std::swap(a[col * n + k], a[pivot * n + k]);
    std::swap(b[col], b[pivot]);
    for (size_t row = col + 1; row < n; ++row) {
      double factor = a[row * n + col] / a[col * n + col];
      for (size_t k = col; k < n; ++k) a[row * n + k] -= factor * a[col * n + k];
      b[row] -= factor * b[col];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double sum = b[i];
    for (size_t k = i + 1; k < n; ++k) sum -= a[i * n + k] * x[k];
    x[i] = sum / a[i * n + i];
  }
  return x;
}

// The fit's answer from its sufficient statistics: the statistics and the
// coefficients solved from them.
void AddFit(int64_t n, const std::vector<double>& xtx, const std::vector<double>& xty, double yty,
            Answer& answer) {
  const size_t terms = xty.size();
  answer.counts["n"] = n;
  for (size_t i = 0; i < terms; ++i) {
    for (size_t j = 0; j < terms; ++j) {
      answer.values[absl::StrCat("xtx[", i, ",", j, "]")] = xtx[i * terms + j];
    }
    answer.values[absl::StrCat("xty[", i, "]")] = xty[i];
  }
  answer.values["yty"] = yty;
  std::vector<double> beta = Solve(xtx, xty);
  for (size_t i = 0; i < beta.size(); ++i) answer.values[absl::StrCat("beta[", i, "]")] = beta[i];
}

void AddSummaryCell(const std::string& key, int64_t persons, int64_t n, double sum,
                    double sum_of_squares, std::optional<double> mean, std::optional<double> sd,
                    Answer& answer) {
  answer.counts[key] = persons;
  answer.counts[absl::StrCat(key, " n")] = n;
  if (n == 0) return;
  answer.values[absl::StrCat(key, " sum")] = sum;
  answer.values[absl::StrCat(key, " sum of squares")] = sum_of_squares;
  double count = static_cast<double>(n);
  answer.values[absl::StrCat(key, " mean")] = mean ? *mean : sum / count;
  answer.values[absl::StrCat(key, " sd")] =
      sd ? *sd : n < 2 ? 0 : std::sqrt(std::max(0.0, (sum_of_squares - sum * sum / count) /
                                                         (count - 1)));
}

bool Close(double a, double b) {
  return std::fabs(a - b) <= kRelativeTolerance * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace

std::span<const BenchCase> BenchCases() {
  static const std::vector<BenchCase> cases = MakeCases();
  return cases;
}

Answer NodeAnswer(const trenode::v1::AggregateResult& result) {
  Answer answer;
  const trenode::v1::ResultTable& table = result.tables(0);
  if (table.kind() == trenode::v1::OUTPUT_KIND_REGRESSION) {
    const trenode::v1::RegressionResult& fit = table.regression();
    AddFit(fit.n(), {fit.xtx().begin(), fit.xtx().end()}, {fit.xty().begin(), fit.xty().end()},
           fit.yty(), answer);
    return answer;
  }
  for (const trenode::v1::ResultCell& cell : table.cells()) {
    if (cell.count() == 0) continue;
    std::string key = absl::StrJoin(cell.group(), "|");
    if (table.kind() == trenode::v1::OUTPUT_KIND_SUMMARY) {
      AddSummaryCell(key, cell.count(), cell.n(), cell.sum(), cell.sum_of_squares(), cell.mean(),
                     cell.sd(), answer);
    } else {
      answer.counts[key] = cell.count();
    }
  }
  return answer;
}

Answer HandAnswer(HandShape shape, int groups, const std::vector<SqlRow>& rows) {
  Answer answer;
  auto malformed = [&] { ++answer.counts["malformed row"]; };
  if (shape == HandShape::kRegression) {
    const size_t k = static_cast<size_t>(groups);
    const size_t width = 1 + k + k * (k + 1) / 2 + 1 + k + 1;
    if (rows.size() != 1 || rows[0].size() != width) {
      malformed();
      return answer;
    }
    std::vector<double> sums;
    for (const SqlValue& value : rows[0]) sums.push_back(AsNumber(value).value_or(0));
    std::optional<int64_t> n = AsCount(rows[0][0]);
    if (!n) malformed();
    // Terms: the intercept, then x1..xk.
    const size_t terms = k + 1;
    std::vector<double> xtx(terms * terms), xty(terms);
    auto at = [&](size_t i, size_t j) -> double& { return xtx[i * terms + j]; };
    at(0, 0) = sums[0];
    size_t next = 1;
    for (size_t i = 1; i <= k; ++i) at(0, i) = at(i, 0) = sums[next++];
    for (size_t i = 1; i <= k; ++i) {
      for (size_t j = i; j <= k; ++j) at(i, j) = at(j, i) = sums[next++];
    }
    for (size_t i = 0; i < terms; ++i) xty[i] = sums[next++];
    AddFit(n.value_or(0), xtx, xty, sums[next], answer);
    return answer;
  }
  const size_t numbers = shape == HandShape::kSummary ? 4 : 1;
  std::map<std::string, int64_t> row_totals, column_totals;
  for (const SqlRow& row : rows) {
    if (row.size() != static_cast<size_t>(groups) + numbers) {
      malformed();
      continue;
    }
    std::vector<std::string> labels;
    for (int g = 0; g < groups; ++g) labels.push_back(AsLabel(row[g]));
    std::string key = absl::StrJoin(labels, "|");
    std::optional<int64_t> count = AsCount(row[groups]);
    if (!count) {
      malformed();
      continue;
    }
    if (*count == 0) continue;
    if (shape == HandShape::kSummary) {
      std::optional<int64_t> n = AsCount(row[groups + 1]);
      std::optional<double> sum = AsNumber(row[groups + 2]);
      std::optional<double> squares = AsNumber(row[groups + 3]);
      if (!n || (*n > 0 && (!sum || !squares))) {
        malformed();
        continue;
      }
      AddSummaryCell(key, *count, *n, sum.value_or(0), squares.value_or(0), std::nullopt,
                     std::nullopt, answer);
      continue;
    }
    answer.counts[key] += *count;
    if (shape == HandShape::kCrosstab && groups == 2) {
      row_totals[labels[0]] += *count;
      column_totals[labels[1]] += *count;
    }
  }
  int64_t total = 0;
  for (const auto& [label, count] : row_totals) {
    answer.counts[absl::StrCat(label, "|", kTotal)] = count;
    total += count;
  }
  for (const auto& [label, count] : column_totals) {
    answer.counts[absl::StrCat(kTotal, "|", label)] = count;
  }
  if (total > 0) answer.counts[absl::StrCat(kTotal, "|", kTotal)] = total;
  return answer;
}

Agreement Compare(const Answer& a, const Answer& b, std::string* first_difference) {
  auto note = [&](std::string what) {
    if (first_difference != nullptr) *first_difference = std::move(what);
  };
  if (a.counts != b.counts) {
    for (const auto& [key, count] : a.counts) {
      auto other = b.counts.find(key);
      if (other == b.counts.end() || other->second != count) {
        note(absl::StrCat(key, ": ", count, " vs ",
                          other == b.counts.end() ? "none" : absl::StrCat(other->second)));
        return Agreement::kCountsDiffer;
      }
    }
    for (const auto& [key, count] : b.counts) {
      if (!a.counts.contains(key)) {
        note(absl::StrCat(key, ": none vs ", count));
        break;
      }
    }
    return Agreement::kCountsDiffer;
  }
  if (a.counts.empty()) {
    note("no answer");
    return Agreement::kCountsDiffer;
  }
  if (a.values.size() != b.values.size()) {
    note("different values");
    return Agreement::kValuesDiffer;
  }
  for (const auto& [key, value] : a.values) {
    auto other = b.values.find(key);
    if (other == b.values.end() || !Close(value, other->second)) {
      note(absl::StrCat(key, ": ", absl::StrFormat("%.17g", value), " vs ",
                        other == b.values.end() ? "none"
                                                : absl::StrFormat("%.17g", other->second)));
      return Agreement::kValuesDiffer;
    }
  }
  return Agreement::kSame;
}

const char* AgreementText(Agreement agreement) {
  switch (agreement) {
    case Agreement::kSame:
      return "same answers";
    case Agreement::kCountsDiffer:
      return "COUNTS DIFFER";
    case Agreement::kValuesDiffer:
      return "VALUES DIFFER";
  }
  return "?";
}

}  // namespace trenode::bench
