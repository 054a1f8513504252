#include "node/releases/regression_statistics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/ingest/csv_reader.h"
#include "node/query/grid.h"
#include "node/releases/candidate_file.h"

namespace trenode::releases {
namespace {
using trenode::v1::RegressionResult;

constexpr char kHeader[] = "statistic,term,with,value";
// No count of persons released is larger (as for pooled counts).
constexpr int64_t kMaxPersons = 1'000'000'000'000;
// Rows of the largest well-formed file: scalars, X'y, X'X and every term's
// values.
constexpr size_t kMaxRows = 4 + kMaxRegressionTerms + kMaxRegressionTerms * kMaxRegressionTerms +
                            (kMaxRegressionTerms + 1) * kMaxFewValues;
constexpr size_t kMaxTermName = 256;

absl::Status Bad(const std::string& where, int64_t line, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where, " line ", line, ": ", what));
}

absl::StatusOr<double> Number(const std::string& field, const std::string& where, int64_t line) {
  double value;
  if (!absl::SimpleAtod(field, &value) || !std::isfinite(value)) {
    return Bad(where, line, absl::StrCat("\"", field.substr(0, 32), "\" is not a finite number"));
  }
  return value;
}

absl::StatusOr<int64_t> Persons(const std::string& field, const std::string& where, int64_t line) {
  int64_t count;
  if (!absl::SimpleAtoi(field, &count) || count < 0 || count > kMaxPersons) {
    return Bad(where, line, absl::StrCat("\"", field.substr(0, 32), "\" is not a count"));
  }
  return count;
}

}  // namespace

std::string RegressionStatisticsCsv(const RegressionResult& r) {
  std::string csv = absl::StrCat(kHeader, "\n");
  absl::StrAppend(&csv, CsvLine({"n", "", "", absl::StrCat(r.n())}),
                  CsvLine({"residual_dof", "", "", absl::StrCat(r.residual_degrees_of_freedom())}),
                  CsvLine({"yty", "", "", query::FormatNumber(r.yty())}),
                  CsvLine({"max_leverage", "", "", query::FormatNumber(r.max_leverage())}));
  const int p = r.terms_size();
  for (int i = 0; i < p && i < r.xty_size(); ++i) {
    absl::StrAppend(&csv, CsvLine({"xty", r.terms(i), "", query::FormatNumber(r.xty(i))}));
  }
  for (int i = 0; i < p; ++i) {
    for (int j = 0; j < p && i * p + j < r.xtx_size(); ++j) {
      absl::StrAppend(
          &csv, CsvLine({"xtx", r.terms(i), r.terms(j), query::FormatNumber(r.xtx(i * p + j))}));
    }
  }
  for (const auto& term : r.few_valued_terms()) {
    for (int i = 0; i < term.values_size() && i < term.persons_size(); ++i) {
      absl::StrAppend(
          &csv, CsvLine({"persons_with_value", term.term(), query::FormatNumber(term.values(i)),
                         absl::StrCat(term.persons(i))}));
    }
  }
  return csv;
}

absl::StatusOr<RegressionResult> ParseRegressionStatistics(const std::string& text,
                                                           const std::string& where) {
  ingest::CsvReader reader = ingest::CsvReaderOf(text, where);
  ingest::CsvRecord record;
  std::vector<ingest::CsvRecord> rows;
  bool header = true;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader.Next(record));
    if (!more) break;
    if (record.blank) continue;
    if (header) {
      if (record.fields != std::vector<std::string>{"statistic", "term", "with", "value"}) {
        return Bad(where, record.line,
                   absl::StrCat("not regression statistics (the header is not ", kHeader, ")"));
      }
      header = false;
      continue;
    }
    if (record.fields.size() != 4) {
      return Bad(where, record.line, absl::StrCat(record.fields.size(), " fields, not 4"));
    }
    if (rows.size() == kMaxRows) return Bad(where, record.line, "too many rows");
    rows.push_back(record);
  }
  if (header) return absl::InvalidArgumentError(absl::StrCat(where, ": empty"));

  RegressionResult r;
  std::map<std::string, int64_t> scalar_lines;
  for (const ingest::CsvRecord& row : rows) {
    const std::string& statistic = row.fields[0];
    const std::string& term = row.fields[1];
    const std::string& with = row.fields[2];
    const std::string& value = row.fields[3];
    const int64_t line = row.line;
    if (statistic == "n" || statistic == "residual_dof" || statistic == "yty" ||
        statistic == "max_leverage") {
      if (!term.empty() || !with.empty()) {
        return Bad(where, line, absl::StrCat(statistic, " has no term"));
      }
      if (!scalar_lines.emplace(statistic, line).second) {
        return Bad(where, line, absl::StrCat(statistic, " is given twice"));
      }
      if (statistic == "n") {
        ASSIGN_OR_RETURN(int64_t n, Persons(value, where, line));
        r.set_n(n);
      } else if (statistic == "residual_dof") {
        int64_t dof;
        if (!absl::SimpleAtoi(value, &dof)) {
          return Bad(where, line, absl::StrCat("\"", value.substr(0, 32), "\" is not a count"));
        }
        r.set_residual_degrees_of_freedom(dof);
      } else if (statistic == "yty") {
        ASSIGN_OR_RETURN(double yty, Number(value, where, line));
        if (yty < 0) return Bad(where, line, "y'y is negative");
        r.set_yty(yty);
      } else {
        ASSIGN_OR_RETURN(double leverage, Number(value, where, line));
        if (leverage < 0 || leverage > 1) return Bad(where, line, "a leverage is from 0 to 1");
        r.set_max_leverage(leverage);
      }
    } else if (statistic == "xty") {
      if (!with.empty() || term.empty() || term.size() > kMaxTermName) {
        return Bad(where, line, "xty names one term");
      }
      if (r.xtx_size() > 0 || r.few_valued_terms_size() > 0) {
        return Bad(where, line, "xty rows come before xtx and persons_with_value rows");
      }
      if (r.terms_size() == kMaxRegressionTerms) {
        return Bad(where, line, absl::StrCat("more than ", kMaxRegressionTerms, " terms"));
      }
      r.add_terms(term);
      ASSIGN_OR_RETURN(double entry, Number(value, where, line));
      r.add_xty(entry);
    } else if (statistic == "xtx") {
      const int p = r.terms_size();
      const int k = r.xtx_size();
      if (r.few_valued_terms_size() > 0) {
        return Bad(where, line, "xtx rows come before persons_with_value rows");
      }
      if (p == 0) return Bad(where, line, "xtx rows come after the xty rows");
      if (k == p * p) return Bad(where, line, "more xtx rows than terms x terms");
      if (term != r.terms(k / p) || with != r.terms(k % p)) {
        return Bad(where, line,
                   absl::StrCat("xtx row ", k + 1, " is not (", r.terms(k / p), ", ",
                                r.terms(k % p), ")"));
      }
      ASSIGN_OR_RETURN(double entry, Number(value, where, line));
      r.add_xtx(entry);
    } else if (statistic == "persons_with_value") {
      ASSIGN_OR_RETURN(double level, Number(with, where, line));
      ASSIGN_OR_RETURN(int64_t persons, Persons(value, where, line));
      auto* few = r.few_valued_terms_size() > 0
                      ? r.mutable_few_valued_terms(r.few_valued_terms_size() - 1)
                      : nullptr;
      // A term's values ascend: a value not above the last starts the next
      // term (two indicators share the name "indicator").
      if (few == nullptr || few->term() != term || level <= few->values(few->values_size() - 1)) {
        if (term != "(outcome)" &&
            std::find(r.terms().begin(), r.terms().end(), term) == r.terms().end()) {
          return Bad(where, line, absl::StrCat("\"", term.substr(0, 64), "\" is not a term"));
        }
        if (r.few_valued_terms_size() == kMaxRegressionTerms) {
          return Bad(where, line, "more few-valued terms than terms");
        }
        few = r.add_few_valued_terms();
        few->set_term(term);
      }
      if (few->values_size() == kMaxFewValues) {
        return Bad(where, line, absl::StrCat(term, " takes more than ", kMaxFewValues, " values"));
      }
      few->add_values(level);
      few->add_persons(persons);
    } else {
      return Bad(where, line, absl::StrCat("\"", statistic.substr(0, 32), "\" is not a statistic"));
    }
  }

  for (const char* scalar : {"n", "residual_dof", "yty", "max_leverage"}) {
    if (!scalar_lines.contains(scalar)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": no ", scalar));
    }
  }
  const int p = r.terms_size();
  if (p == 0) return absl::InvalidArgumentError(absl::StrCat(where, ": no terms (xty rows)"));
  if (r.xtx_size() != p * p) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", r.xtx_size(), " xtx rows for ", p, " terms, not ", p * p));
  }
  for (int i = 0; i < p; ++i) {
    if (r.xtx(i * p + i) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": X'X has a negative diagonal entry (", r.terms(i), ")"));
    }
    for (int j = 0; j < i; ++j) {
      double a = r.xtx(i * p + j), b = r.xtx(j * p + i);
      if (std::fabs(a - b) > 1e-12 * std::max({std::fabs(a), std::fabs(b), 1.0})) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": X'X is not symmetric (", r.terms(i), ", ", r.terms(j), ")"));
      }
    }
  }
  if (r.residual_degrees_of_freedom() != r.n() - p) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": residual_dof is ",
                                                   r.residual_degrees_of_freedom(), ", not n - ", p,
                                                   " = ", r.n() - p));
  }
  for (const auto& few : r.few_valued_terms()) {
    int64_t persons = 0;
    for (int64_t held : few.persons()) persons += held;  // each at most kMaxPersons
    if (persons != r.n()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", few.term(), "'s values are held by ", persons, " persons, not n = ", r.n()));
    }
  }
  return r;
}

}  // namespace trenode::releases
