// Differencing of pooled results. A pooled output sums the released parts of
// a set of nodes; two pooled outputs of the same question over different
// sets let anyone subtract one from the other, and several can be solved
// together (pooled(A,B), pooled(A,C), pooled(B,C) give A, B and C). A node
// that lets its part be shown only pooled must never be solved for.
//
// With each pooled output of one question as the 0/1 vector of its nodes, a
// node's own numbers are derivable exactly when its unit vector lies in the
// span of the vectors released. NewlyRevealed says which protected nodes a
// candidate release would make derivable that were not already.
#ifndef TRENODE_NODE_RELEASES_POOLED_DIFFERENCING_H_
#define TRENODE_NODE_RELEASES_POOLED_DIFFERENCING_H_

#include <set>
#include <string>
#include <vector>

namespace trenode::releases {

using NodeSet = std::set<std::string>;

// The nodes of `protected_nodes` derivable from `released` plus `candidate`
// but not from `released` alone, sorted.
std::vector<std::string> NewlyRevealed(const std::vector<NodeSet>& released,
                                       const NodeSet& candidate,
                                       const NodeSet& protected_nodes);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_POOLED_DIFFERENCING_H_
