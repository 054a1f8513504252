// The files of an aggregate query's release (spec/releases.md, "Files"):
// one CSV per output, protected as the policy says and with every cell it
// publishes recorded with the persons behind it for the overlap ledger.
//
// - Counts and cross-tabulations: suppression of failing cells and of
//   complementary ones, audited against each table's totals and, when an
//   analysis has several, against all of them jointly (linked tables);
//   under a rounding policy, redaction and rounding; under cell_key,
//   perturbation of every cell and total.
// - Summaries: cells failing the count or magnitude rules are left empty.
// - Regressions: the fit (coefficients and standard errors, n, residual
//   degrees of freedom) under the regression rules; the sufficient
//   statistics leave only from a node's part of a federated analysis, for
//   pooling, under the same rules (regression_statistics.h).
#ifndef TRENODE_NODE_RELEASES_AGGREGATE_FILES_H_
#define TRENODE_NODE_RELEASES_AGGREGATE_FILES_H_

#include <vector>

#include "absl/time/time.h"
#include "node/disclosure/policy.h"
#include "node/releases/candidate_file.h"
#include "trenode/internal/query_internals.pb.h"
#include "trenode/v1/query.pb.h"

namespace trenode::releases {

// What a regression output's file holds.
enum class RegressionRelease {
  kFit,
  // A node's part of a federated analysis: the sufficient statistics.
  kSufficientStatistics,
};

// `internals` may be null (an analysis run before the node kept them): then
// linked tables are not audited jointly (files with suppressed cells need a
// checker), nothing is perturbed (cell_key files need a checker) and no
// cell is recorded for the ledger.
//
// Suppression and its audits, of every table alone and of all jointly, end
// by `deadline`: tables not proven protected by then go to a checker
// (verdict review, "...did not finish in the time allowed").
std::vector<CandidateFile> AggregateFiles(const trenode::v1::AggregateResult& result,
                                          const trenode::internal::QueryInternals* internals,
                                          const disclosure::Policy& policy,
                                          absl::Time deadline = absl::InfiniteFuture(),
                                          RegressionRelease regressions = RegressionRelease::kFit);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_AGGREGATE_FILES_H_
