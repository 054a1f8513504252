// Regressions as they may leave the TRE (spec/disclosure.md, "Regressions"):
// the fit (coefficients, standard errors, n, residual degrees of freedom)
// computed from the exact sufficient statistics, which stay inside for
// pooling and for output checkers; and the rules a fit must pass, beyond
// residual degrees of freedom: enough persons, few enough parameters for
// them (DataSHIELD's nfilter.glm), and every value of a few-valued
// predictor held by enough persons. Pure functions; thread-safe.
#ifndef TRENODE_NODE_DISCLOSURE_REGRESSION_H_
#define TRENODE_NODE_DISCLOSURE_REGRESSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/disclosure/rules.h"

namespace trenode::disclosure {

struct OlsFit {
  std::vector<double> coefficients;
  std::vector<double> standard_errors;
  double residual_variance = 0;
};

// The least-squares fit from X'X (row-major, p x p), X'y and y'y over n
// persons, solved by Cholesky factorisation (X'X is symmetric positive
// definite when the terms are not collinear). FailedPrecondition if X'X is
// singular or not positive definite (the terms are collinear) or n <= p (no
// residual variance).
absl::StatusOr<OlsFit> FitOls(const std::vector<double>& xtx, const std::vector<double>& xty,
                              double yty, int64_t n);

// The inverse of a square, non-singular matrix (row-major) by Gauss-Jordan
// elimination with partial pivoting. FailedPrecondition if it is singular.
absl::StatusOr<std::vector<double>> InvertSymmetric(const std::vector<double>& matrix);

// One few-valued predictor: its values and how many persons hold each.
struct TermLevels {
  std::string term;
  std::vector<double> values;
  std::vector<int64_t> persons;
};

// DataSHIELD's nfilter.glm: a fit may have at most this share of n as
// parameters.
inline constexpr int64_t kMaxParametersPerCent = 33;

// The rules on a fit of `parameters` terms over `n` persons, with SmallGroup
// (policy) as k: residual degrees of freedom (dof), n at least k
// (regression-n), parameters at most 0.33 n (regression-parameters), each
// value of a few-valued predictor or outcome held by at least k persons
// (regression-levels), and no person's leverage above 1/k, so the fit
// cannot follow a group of fewer than k persons (regression-leverage).
CellVerdict CheckRegressionFit(int64_t n, int64_t parameters,
                               const std::vector<TermLevels>& few_valued, double max_leverage,
                               const Policy& policy);

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_REGRESSION_H_
