#include "node/rpc/call_gate.h"

#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "node/auth/authorization.h"
#include "node/auth/roles.h"
#include "node/common/status_macros.h"

namespace trenode::rpc {
namespace {

// Read-only queries whose admitted calls are not logged (their refusals are).
bool IsQuietQuery(absl::string_view method) {
  static const auto* quiet = new std::set<std::string, std::less<>>{
      "/trenode.v1.Catalogue/GetDataset",
      "/trenode.v1.Catalogue/ListDatasets",
      "/trenode.v1.Catalogue/SearchDatasets",
      "/trenode.v1.Governance/GetProject",
      "/trenode.v1.Governance/ListProjects",
      "/trenode.v1.Governance/ListMembers",
      "/trenode.v1.Governance/ListTraining",
      "/trenode.v1.Governance/CheckAccess",
      "/trenode.v1.Governance/ListApprovedProjects",
      "/trenode.v1.Analyses/GetAnalysis",
      "/trenode.v1.Analyses/ListAnalyses",
      "/trenode.v1.Analyses/WatchAnalysis",
      "/trenode.v1.Analyses/GetBundle",
      "/trenode.v1.Releases/GetRelease",
      "/trenode.v1.Releases/ListReleases",
      "/trenode.v1.ActivityLog/GetCheckpoint",
      "/trenode.v1.ActivityLog/GetEntries",
      "/trenode.v1.ActivityLog/WatchEntries",
      "/trenode.v1.ActivityLog/GetInclusionProof",
      "/trenode.v1.ActivityLog/GetConsistencyProof",
  };
  return quiet->contains(method);
}

}  // namespace

absl::StatusOr<auth::Principal> CallGate::Admit(const grpc::ServerContext& context,
                                                absl::string_view full_method) {
  std::string method(full_method);
  absl::StatusOr<auth::Principal> principal = authenticator_->Authenticate(context);
  absl::Status decision = principal.ok() ? auth::Authorize(*principal, method) : principal.status();
  if (events_ != nullptr && (!decision.ok() || !IsQuietQuery(method))) {
    log::ActivityEvent event;
    event.action = decision.ok() ? "auth.allow" : "auth.deny";
    event.object = method;
    event.outcome = decision.ok() ? "allow" : "deny";
    event.reason = std::string(decision.message());
    auth::Principal actor = principal.ok() ? *principal : auth::Principal{};
    if (absl::Status recorded = events_->Record(actor, std::move(event)); !recorded.ok()) {
      // Nothing proceeds that the log could not record.
      return absl::UnavailableError(
          absl::StrCat("the activity log cannot record this call: ", recorded.message()));
    }
  }
  if (!decision.ok()) {
    std::cerr << absl::StrCat("trenode: deny ", method,
                              " caller=", principal.ok() ? principal->subject : "-",
                              " role=", principal.ok() ? auth::RoleName(principal->role) : "-",
                              ": ", decision.message(), "\n");
    return decision;
  }
  return principal;
}

}  // namespace trenode::rpc
