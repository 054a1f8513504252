// The release state machine (spec/releases.md, "States"): one table decides
// every transition.
#ifndef TRENODE_NODE_RELEASES_RELEASE_STATE_H_
#define TRENODE_NODE_RELEASES_RELEASE_STATE_H_

#include <optional>
#include <string>

#include "trenode/v1/releases.pb.h"

namespace trenode::releases {

enum class ReleaseAction {
  kPrepared,  // the node built the files: preparing -> draft
  kSubmit,
  kOpenReview,  // every hard gate passed
  kBlock,       // a hard gate failed
  kApprove,     // quorum of checkers, or the auto-release policy
  kReject,
  kRelease,  // copied to the egress area
  kWithdraw,  // by the requester, or by the node when the files cannot be built
  kRevoke,
};

std::optional<trenode::v1::ReleaseState> NextReleaseState(trenode::v1::ReleaseState from,
                                                          ReleaseAction action);
// "in_review" for RELEASE_STATE_IN_REVIEW.
std::string StateName(trenode::v1::ReleaseState state);
// "open_review" for kOpenReview: messages and the log action suffix.
const char* ActionName(ReleaseAction action);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_RELEASE_STATE_H_
