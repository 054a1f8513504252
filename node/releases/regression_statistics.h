// The released file of a regression in a node's part of a federated
// analysis: the fit's sufficient statistics, so that the home node can pool
// the nodes' regressions exactly (spec/federation.md, "Regressions in
// federated analyses"). One CSV, header `statistic,term,with,value`, rows in
// this order:
//
//   n,,,<persons fitted>
//   residual_dof,,,<n - terms>
//   yty,,,<y'y>
//   max_leverage,,,<largest leverage, 0 to 1>
//   xty,<term>,,<X'y entry>            one per term, in the fit's order
//   xtx,<term>,<term>,<X'X entry>      terms x terms, row-major
//   persons_with_value,<term>,<value>,<persons>
//                                      few-valued terms ("(outcome)" for the
//                                      outcome), values ascending per term
//
// Numbers are shortest exact decimal forms. Pure functions; thread-safe.
#ifndef TRENODE_NODE_RELEASES_REGRESSION_STATISTICS_H_
#define TRENODE_NODE_RELEASES_REGRESSION_STATISTICS_H_

#include <string>

#include "absl/status/statusor.h"
#include "trenode/v1/query.pb.h"

namespace trenode::releases {

// A fit has at most this many terms (an intercept and 32 predictors).
inline constexpr int kMaxRegressionTerms = 33;
// A few-valued term takes at most this many values.
inline constexpr int kMaxFewValues = 10;

// `regression` written as above.
std::string RegressionStatisticsCsv(const trenode::v1::RegressionResult& regression);

// The file read back, strictly. InvalidArgument starting with `where` (and
// the line) for anything else: another header or row shape, an unknown
// statistic, a scalar missing or given twice, a number that is not finite,
// a count that is negative or too large, no terms or more than
// kMaxRegressionTerms, X'X rows that do not follow the terms, an X'X that
// is not symmetric or has a negative diagonal, residual_dof other than
// n - terms, a leverage outside [0, 1], a few-valued term that is not one
// of the fit's, whose values are not ascending, more than kMaxFewValues of
// them, or whose persons do not add up to n.
absl::StatusOr<trenode::v1::RegressionResult> ParseRegressionStatistics(const std::string& text,
                                                                        const std::string& where);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_REGRESSION_STATISTICS_H_
