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

namespace {

// The lower-triangular L with L L' = `matrix` (p x p, row-major, symmetric:
// only its lower triangle is read). FailedPrecondition if it is not
// positive definite: the terms are collinear.
absl::StatusOr<std::vector<double>> CholeskyFactor(const std::vector<double>& matrix, size_t p) {
  // Pivots at most this small relative to the largest diagonal entry mean
  // the terms are collinear (to double precision).
  double scale = 0;
  for (size_t i = 0; i < p; ++i) scale = std::max(scale, std::fabs(matrix[i * p + i]));
  std::vector<double> lower(p * p, 0);
  for (size_t j = 0; j < p; ++j) {
    double pivot = matrix[j * p + j];
    for (size_t k = 0; k < j; ++k) pivot -= lower[j * p + k] * lower[j * p + k];
    if (!(pivot > 1e-10 * std::max(scale, 1.0))) {
      return absl::FailedPreconditionError(
          "the terms are collinear (X'X is singular): the fit is not identifiable");
    }
    lower[j * p + j] = std::sqrt(pivot);
    for (size_t i = j + 1; i < p; ++i) {
      double value = matrix[i * p + j];
      for (size_t k = 0; k < j; ++k) value -= lower[i * p + k] * lower[j * p + k];
      lower[i * p + j] = value / lower[j * p + j];
    }
  }
  return lower;
}

}  // namespace

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
  // X'X = L L': solve L z = X'y, then L' beta = z; the inverse's diagonal
  // is the column sums of squares of L^-1.
  ASSIGN_OR_RETURN(std::vector<double> lower, CholeskyFactor(xtx, p));
  std::vector<double> z(p);
  for (size_t i = 0; i < p; ++i) {
    double value = xty[i];
    for (size_t k = 0; k < i; ++k) value -= lower[i * p + k] * z[k];
    z[i] = value / lower[i * p + i];
  }
  OlsFit fit;
  fit.coefficients.assign(p, 0);
  for (size_t i = p; i-- > 0;) {
    double value = z[i];
    for (size_t k = i + 1; k < p; ++k) value -= lower[k * p + i] * fit.coefficients[k];
    fit.coefficients[i] = value / lower[i * p + i];
  }
  std::vector<double> inverse_lower(p * p, 0);  // L^-1, lower triangular
  for (size_t j = 0; j < p; ++j) {
    inverse_lower[j * p + j] = 1 / lower[j * p + j];
    for (size_t i = j + 1; i < p; ++i) {
      double value = 0;
      for (size_t k = j; k < i; ++k) value -= lower[i * p + k] * inverse_lower[k * p + j];
      inverse_lower[i * p + j] = value / lower[i * p + i];
    }
  }
  // y'y - beta'X'y = y'y - z'z.
  double explained = 0;
  for (double value : z) explained += value * value;
  double residual = std::max(0.0, yty - explained);
  fit.residual_variance = residual / static_cast<double>(n - static_cast<int64_t>(p));
  for (size_t j = 0; j < p; ++j) {
    double diagonal = 0;
    for (size_t i = j; i < p; ++i) diagonal += inverse_lower[i * p + j] * inverse_lower[i * p + j];
    fit.standard_errors.push_back(std::sqrt(std::max(0.0, fit.residual_variance * diagonal)));
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
