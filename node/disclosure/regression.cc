#include "node/disclosure/regression.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::disclosure {

absl::StatusOr<std::vector<double>> InvertSymmetric(const std::vector<double>& xtx) {
  size_t p = 0;
  while (p * p < xtx.size()) ++p;
  if (p == 0 || p * p != xtx.size()) return absl::InvalidArgumentError("the matrix is not square");
  std::vector<double> a = xtx, inverse(p * p, 0);
  for (size_t i = 0; i < p; ++i) inverse[i * p + i] = 1;
  double scale = 0;
  for (size_t i = 0; i < p; ++i) scale = std::max(scale, std::fabs(xtx[i * p + i]));
  for (size_t column = 0; column < p; ++column) {
    size_t pivot = column;
    for (size_t row = column + 1; row < p; ++row) {
      if (std::fabs(a[row * p + column]) > std::fabs(a[pivot * p + column])) pivot = row;
    }
    if (std::fabs(a[pivot * p + column]) <= 1e-10 * std::max(scale, 1.0)) {
      return absl::FailedPreconditionError(
          "the terms are collinear (X'X is singular): the fit is not identifiable");
    }
    for (size_t k = 0; k < p; ++k) {
      std::swap(a[column * p + k], a[pivot * p + k]);
      std::swap(inverse[column * p + k], inverse[pivot * p + k]);
    }
    double divide = a[column * p + column];
    for (size_t k = 0; k < p; ++k) {
      a[column * p + k] /= divide;
      inverse[column * p + k] /= divide;
    }
    for (size_t row = 0; row < p; ++row) {
      if (row == column) continue;
      double factor = a[row * p + column];
      if (factor == 0) continue;
      for (size_t k = 0; k < p; ++k) {
        a[row * p + k] -= factor * a[column * p + k];
        inverse[row * p + k] -= factor * inverse[column * p + k];
      }
    }
  }
  return inverse;
}

absl::StatusOr<OlsFit> FitOls(const std::vector<double>& xtx, const std::vector<double>& xty,
                              double yty, int64_t n) {
  const size_t p = xty.size();
  if (p == 0 || xtx.size() != p * p) {
    return absl::InvalidArgumentError("X'X must be square and match X'y");
  }
  if (n <= static_cast<int64_t>(p)) {
    return absl::FailedPreconditionError(
        absl::StrCat("a fit of ", p, " terms needs more than ", p, " persons; it has ", n));
  }
  ASSIGN_OR_RETURN(std::vector<double> inverse, InvertSymmetric(xtx));
  OlsFit fit;
  fit.coefficients.assign(p, 0);
  for (size_t i = 0; i < p; ++i) {
    for (size_t j = 0; j < p; ++j) fit.coefficients[i] += inverse[i * p + j] * xty[j];
  }
  double explained = 0;
  for (size_t i = 0; i < p; ++i) explained += fit.coefficients[i] * xty[i];
  double residual = std::max(0.0, yty - explained);
  fit.residual_variance = residual / static_cast<double>(n - static_cast<int64_t>(p));
  for (size_t i = 0; i < p; ++i) {
    fit.standard_errors.push_back(
        std::sqrt(std::max(0.0, fit.residual_variance * inverse[i * p + i])));
  }
  return fit;
}

CellVerdict CheckRegressionFit(int64_t n, int64_t parameters,
                               const std::vector<TermLevels>& few_valued, double max_leverage,
                               const Policy& policy) {
  CellVerdict verdict = CheckRegression(n - parameters, policy);
  auto fail = [&](const char* rule, std::string reason) {
    verdict.verdict = Verdict::kFail;
    verdict.outcomes.push_back({rule, Verdict::kFail, std::move(reason)});
  };
  const int64_t small = SmallGroup(policy);
  if (n < small) {
    fail(kRegressionN, absl::StrCat(n, " persons in the fit, fewer than ", small));
  }
  // 1/k as a product: leverage * k > 1.
  if (max_leverage * static_cast<double>(small) > 1 + 1e-9) {
    fail(kRegressionLeverage,
         absl::StrCat("a person's leverage is ", max_leverage, ", more than 1/", small,
                      ": the fit can follow a group of fewer than ", small, " persons"));
  }
  // At most 0.33 n parameters: 100 p <= 33 n.
  if (parameters * 100 > kMaxParametersPerCent * n) {
    fail(kRegressionParameters, absl::StrCat(parameters, " parameters for ", n,
                                             " persons, more than 0.33 per person"));
  }
  for (const TermLevels& term : few_valued) {
    for (size_t i = 0; i < term.values.size(); ++i) {
      if (term.persons[i] < small) {
        fail(kRegressionLevels, absl::StrCat(term.term, " takes a value held by ", term.persons[i],
                                             " persons, fewer than ", small));
        break;
      }
    }
  }
  return verdict;
}

}  // namespace trenode::disclosure
