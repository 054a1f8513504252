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

// A node's part set aside when pooling: it cannot be honest (a summary
// whose sum is not n times its mean, an X'X Cauchy-Schwarz forbids, a
// group the question cannot produce, ...) or adding it would make a
// pooled number infinite. `reason` names the node and file.
struct Refusal {
  std::string node_id;
  std::string reason;
};

struct Pooled {
  trenode::v1::AggregateResult result;
  // Nodes whose parts were set aside (spec/federation.md, "Pooling"): the
  // result is pooled from the other nodes', as if these had not answered.
  std::vector<Refusal> refused;
  // Why an output is not in `result` (e.g. a cross-tabulation a node
  // suppressed cells of, which cannot be pooled in part), one line each.
  std::vector<std::string> notes;
};

// `query`'s outputs pooled over `sites` (in any order; at least one).
// A node's part that does not have the shape spec/releases.md (for
// regressions, spec/federation.md) gives it, fails a plausibility check
// of spec/federation.md "Pooling", has regression terms that differ from
// the nodes' before it, or would make a pooled number infinite is set
// aside in `refused` and the others pooled. InvalidArgument naming the
// node and file if that leaves no node (so one node's part alone is
// checked by pooling it); FailedPrecondition if a pooled regression cannot
// be fitted (its X'X is singular).
absl::StatusOr<Pooled> PoolReleased(const trenode::v1::AggregateQuery& query,
                                    const std::vector<SiteRelease>& sites);

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_POOLING_H_
