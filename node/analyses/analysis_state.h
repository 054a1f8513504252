// The analysis state machine (spec/analyses.md, "States"): one table decides
// every transition.
#ifndef TRENODE_NODE_ANALYSES_ANALYSIS_STATE_H_
#define TRENODE_NODE_ANALYSES_ANALYSIS_STATE_H_

#include <optional>
#include <string>

#include "trenode/v1/analyses.pb.h"

namespace trenode::analyses {

enum class AnalysisAction {
  kAwaitApproval,  // routed to a steward
  kAutoApprove,    // approved by a project policy
  kApprove,
  kReject,
  kQueue,  // passed the start gate; handed to the backend
  kStart,
  kSucceed,
  kFail,
  kCancel,
};

// The state `action` leads to from `from`, or nullopt if the table has no
// such arrow.
std::optional<trenode::v1::AnalysisState> NextAnalysisState(trenode::v1::AnalysisState from,
                                                            AnalysisAction action);

// Rejected, succeeded, failed or cancelled: nothing follows.
bool IsFinal(trenode::v1::AnalysisState state);

// "awaiting_approval" for ANALYSIS_STATE_AWAITING_APPROVAL.
std::string StateName(trenode::v1::AnalysisState state);
// "approve" for kApprove: the verb in messages and the log action suffix.
const char* ActionName(AnalysisAction action);

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_ANALYSIS_STATE_H_
