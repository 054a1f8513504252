#include "node/releases/release_state.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"

namespace trenode::releases {
namespace {
using State = trenode::v1::ReleaseState;
using A = ReleaseAction;
using trenode::v1::RELEASE_STATE_APPROVED;
using trenode::v1::RELEASE_STATE_BLOCKED;
using trenode::v1::RELEASE_STATE_DRAFT;
using trenode::v1::RELEASE_STATE_IN_REVIEW;
using trenode::v1::RELEASE_STATE_PREPARING;
using trenode::v1::RELEASE_STATE_REJECTED;
using trenode::v1::RELEASE_STATE_RELEASED;
using trenode::v1::RELEASE_STATE_REVOKED;
using trenode::v1::RELEASE_STATE_SUBMITTED;
using trenode::v1::RELEASE_STATE_WITHDRAWN;

const std::map<std::pair<State, A>, State>& Table() {
  static const auto* table = new std::map<std::pair<State, A>, State>{
      {{RELEASE_STATE_PREPARING, A::kPrepared}, RELEASE_STATE_DRAFT},
      {{RELEASE_STATE_PREPARING, A::kWithdraw}, RELEASE_STATE_WITHDRAWN},
      {{RELEASE_STATE_DRAFT, A::kSubmit}, RELEASE_STATE_SUBMITTED},
      {{RELEASE_STATE_DRAFT, A::kWithdraw}, RELEASE_STATE_WITHDRAWN},
      {{RELEASE_STATE_SUBMITTED, A::kOpenReview}, RELEASE_STATE_IN_REVIEW},
      {{RELEASE_STATE_SUBMITTED, A::kBlock}, RELEASE_STATE_BLOCKED},
      {{RELEASE_STATE_SUBMITTED, A::kApprove}, RELEASE_STATE_APPROVED},
      {{RELEASE_STATE_SUBMITTED, A::kWithdraw}, RELEASE_STATE_WITHDRAWN},
      {{RELEASE_STATE_IN_REVIEW, A::kApprove}, RELEASE_STATE_APPROVED},
      {{RELEASE_STATE_IN_REVIEW, A::kReject}, RELEASE_STATE_REJECTED},
      {{RELEASE_STATE_IN_REVIEW, A::kWithdraw}, RELEASE_STATE_WITHDRAWN},
      {{RELEASE_STATE_BLOCKED, A::kWithdraw}, RELEASE_STATE_WITHDRAWN},
      {{RELEASE_STATE_APPROVED, A::kRelease}, RELEASE_STATE_RELEASED},
      {{RELEASE_STATE_RELEASED, A::kRevoke}, RELEASE_STATE_REVOKED},
  };
  return *table;
}

}  // namespace

std::optional<State> NextReleaseState(State from, ReleaseAction action) {
  auto found = Table().find({from, action});
  if (found == Table().end()) return std::nullopt;
  return found->second;
}

std::string StateName(State state) {
  return absl::AsciiStrToLower(trenode::v1::ReleaseState_Name(state).substr(14));
}

const char* ActionName(ReleaseAction action) {
  switch (action) {
    case A::kPrepared:
      return "prepare";
    case A::kSubmit:
      return "submit";
    case A::kOpenReview:
      return "open_review";
    case A::kBlock:
      return "block";
    case A::kApprove:
      return "approve";
    case A::kReject:
      return "reject";
    case A::kRelease:
      return "release";
    case A::kWithdraw:
      return "withdraw";
    case A::kRevoke:
      return "revoke";
  }
  return "change";
}

}  // namespace trenode::releases
