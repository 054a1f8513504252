// Pooling of federated contributions at the home node: only what each node
// released, combined exactly. Counts and cross-tabulations add cell by cell;
// summaries pool n, sums and sums of squares (from each node's released n,
// mean, sd and sum), so means and standard deviations are those of all the
// nodes' persons together. A group some node suppressed (left empty) is
// never pooled: it is listed as withheld. Each node counts as one
// contributor to a pooled summary cell (its sum is the contribution), so
// the home node's dominance rules keep any one node from dominating it.
// Regressions pool each node's released sufficient statistics (n, X'X, X'y,
// y'y added), so the fit is the one OLS regression over all the nodes'
// persons (spec/federation.md, "Regressions in federated analyses").
#ifndef TRENODE_FEDERATION_POOLING_H_
#define TRENODE_FEDERATION_POOLING_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trenode/v1/query.pb.h"

namespace trenode::federation {

// One node's released files, by name ("<output>.csv").
struct SiteRelease {
  std::string node_id;
  std::map<std::string, std::string> files;
};

struct Pooled {
  trenode::v1::AggregateResult result;
  // Why an output is not in `result` (e.g. a cross-tabulation a node
  // suppressed cells of, which cannot be pooled in part), one line each.
  std::vector<std::string> notes;
};

// `query`'s outputs pooled over `sites` (in any order; at least one).
// InvalidArgument naming the node and file if a released file does not
// have the shape spec/releases.md (for regressions, spec/federation.md)
// gives it or a node's regression terms differ from the others';
// FailedPrecondition if a pooled regression cannot be fitted (its X'X is
// singular).
absl::StatusOr<Pooled> PoolReleased(const trenode::v1::AggregateQuery& query,
                                    const std::vector<SiteRelease>& sites);

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_POOLING_H_
