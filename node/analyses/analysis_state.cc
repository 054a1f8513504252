#include "node/analyses/analysis_state.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"

namespace trenode::analyses {
namespace {
using State = trenode::v1::AnalysisState;
using trenode::v1::ANALYSIS_STATE_APPROVED;
using trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL;
using trenode::v1::ANALYSIS_STATE_CANCELLED;
using trenode::v1::ANALYSIS_STATE_FAILED;
using trenode::v1::ANALYSIS_STATE_QUEUED;
using trenode::v1::ANALYSIS_STATE_REJECTED;
using trenode::v1::ANALYSIS_STATE_RUNNING;
using trenode::v1::ANALYSIS_STATE_SUBMITTED;
using trenode::v1::ANALYSIS_STATE_SUCCEEDED;

const std::map<std::pair<State, AnalysisAction>, State>& Table() {
  using A = AnalysisAction;
  static const auto* table = new std::map<std::pair<State, AnalysisAction>, State>{
      {{ANALYSIS_STATE_SUBMITTED, A::kAwaitApproval}, ANALYSIS_STATE_AWAITING_APPROVAL},
      {{ANALYSIS_STATE_SUBMITTED, A::kAutoApprove}, ANALYSIS_STATE_APPROVED},
      {{ANALYSIS_STATE_SUBMITTED, A::kCancel}, ANALYSIS_STATE_CANCELLED},
      {{ANALYSIS_STATE_AWAITING_APPROVAL, A::kApprove}, ANALYSIS_STATE_APPROVED},
      {{ANALYSIS_STATE_AWAITING_APPROVAL, A::kReject}, ANALYSIS_STATE_REJECTED},
      {{ANALYSIS_STATE_AWAITING_APPROVAL, A::kCancel}, ANALYSIS_STATE_CANCELLED},
      {{ANALYSIS_STATE_APPROVED, A::kQueue}, ANALYSIS_STATE_QUEUED},
      {{ANALYSIS_STATE_APPROVED, A::kFail}, ANALYSIS_STATE_FAILED},
      {{ANALYSIS_STATE_APPROVED, A::kCancel}, ANALYSIS_STATE_CANCELLED},
      {{ANALYSIS_STATE_QUEUED, A::kStart}, ANALYSIS_STATE_RUNNING},
      {{ANALYSIS_STATE_QUEUED, A::kSucceed}, ANALYSIS_STATE_SUCCEEDED},
      {{ANALYSIS_STATE_QUEUED, A::kFail}, ANALYSIS_STATE_FAILED},
      {{ANALYSIS_STATE_QUEUED, A::kCancel}, ANALYSIS_STATE_CANCELLED},
      {{ANALYSIS_STATE_RUNNING, A::kSucceed}, ANALYSIS_STATE_SUCCEEDED},
      {{ANALYSIS_STATE_RUNNING, A::kFail}, ANALYSIS_STATE_FAILED},
      {{ANALYSIS_STATE_RUNNING, A::kCancel}, ANALYSIS_STATE_CANCELLED},
  };
  return *table;
}

}  // namespace

std::optional<State> NextAnalysisState(State from, AnalysisAction action) {
  auto found = Table().find({from, action});
  if (found == Table().end()) return std::nullopt;
  return found->second;
}

bool IsFinal(State state) {
  return state == ANALYSIS_STATE_REJECTED || state == ANALYSIS_STATE_SUCCEEDED ||
         state == ANALYSIS_STATE_FAILED || state == ANALYSIS_STATE_CANCELLED;
}

std::string StateName(State state) {
  std::string name = absl::AsciiStrToLower(trenode::v1::AnalysisState_Name(state));
  return name.substr(std::string("analysis_state_").size());
}

const char* ActionName(AnalysisAction action) {
  switch (action) {
    case AnalysisAction::kAwaitApproval:
      return "await_approval";
    case AnalysisAction::kAutoApprove:
      return "auto_approve";
    case AnalysisAction::kApprove:
      return "approve";
    case AnalysisAction::kReject:
      return "reject";
    case AnalysisAction::kQueue:
      return "queue";
    case AnalysisAction::kStart:
      return "start";
    case AnalysisAction::kSucceed:
      return "succeed";
    case AnalysisAction::kFail:
      return "fail";
    case AnalysisAction::kCancel:
      return "cancel";
  }
  return "change";
}

}  // namespace trenode::analyses
