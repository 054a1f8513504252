// Whether an analysis is one node's part of a federated analysis, whose
// released files are read for pooling (spec/federation.md): at the home
// node, the part it runs itself (`federated_part_of` set); at a partner, an
// analysis submitted for a partner's researcher. Only SubmitContribution
// acts for a person of another node (their principal's `home_node`), and
// such a person cannot submit a federated analysis here, so a submitter
// vouched for by another node marks a contribution. Pure; thread-safe.
#ifndef TRENODE_NODE_ANALYSES_FEDERATED_PART_H_
#define TRENODE_NODE_ANALYSES_FEDERATED_PART_H_

#include <string>

#include "absl/strings/string_view.h"
#include "trenode/v1/analyses.pb.h"

namespace trenode::analyses {

// `analysis` as recorded at node `this_node` (its submitter is
// subject@node-id).
inline bool IsFederatedPart(const trenode::v1::Analysis& analysis, absl::string_view this_node) {
  if (!analysis.federated_part_of().empty()) return true;
  absl::string_view submitter = analysis.submitter();
  size_t at = submitter.rfind('@');
  return at != absl::string_view::npos && submitter.substr(at + 1) != this_node;
}

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_FEDERATED_PART_H_
