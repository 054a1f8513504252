#include "node/rpc/call_gate.h"

#include <iostream>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/auth/authorization.h"
#include "node/auth/roles.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"

namespace trenode::rpc {
namespace {

// The caller's answer when the activity log cannot record its call: the
// log's own error (file paths, SQL) is for this node's staff, on stderr.
absl::Status LogCannotRecord(absl::string_view full_method, const absl::Status& recorded) {
  std::cerr << absl::StrCat("trenode: the activity log cannot record ",
                            PrintableText(full_method, 200), ": ",
                            PrintableText(recorded.message(), 2000), "\n");
  return absl::UnavailableError(
      "the activity log cannot record this call (a fault at this node, its staff have the "
      "detail); nothing was done; try again later");
}

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
      "/trenode.v1.Analyses/ListBundles",
      "/trenode.v1.Releases/GetRelease",
      "/trenode.v1.Releases/ListReleases",
      "/trenode.v1.ActivityLog/GetCheckpoint",
      "/trenode.v1.ActivityLog/GetEntries",
      "/trenode.v1.ActivityLog/WatchEntries",
      "/trenode.v1.ActivityLog/GetInclusionProof",
      "/trenode.v1.ActivityLog/GetConsistencyProof",
      "/trenode.v1.Federation/GetNodeInfo",
      "/trenode.v1.Federation/ListPartners",
      "/trenode.v1.Federation/SearchFederation",
      // Polled by the home node; what it sets off (a release, a file sent)
      // is recorded as such.
      "/trenode.v1.Federation/GetContribution",
      // Witnessing runs every few seconds per partner; alarms are recorded
      // as such by the witness.
      "/trenode.v1.Federation/AddCosignature",
      "/trenode.v1.Federation/GetCosignatures",
      "/trenode.v1.Federation/GetWitnessStatus",
      "/trenode.v1.Federation/GetFederationLogs",
  };
  return quiet->contains(method);
}

// Sources and reasons kept per summary; the rest are counted together.
constexpr size_t kMaxSources = 1000;
constexpr size_t kMaxReasonsPerSource = 8;
constexpr size_t kMaxReasonBytes = 200;
constexpr char kOtherSources[] = "other sources";
constexpr char kOtherReasons[] = "other reasons";

// The summary source of a partner's refusals: "node/<id>".
constexpr char kPartnerSource[] = "node/";

// "ipv4:10.1.2.3" from "ipv4:10.1.2.3:54321" (ports change per connection).
std::string SourceOf(const std::string& peer) {
  size_t colon = peer.rfind(':');
  if (colon == std::string::npos || colon < 5) return peer;
  return peer.substr(0, colon);
}

}  // namespace

void CallGate::CountRefusal(const std::string& source, absl::string_view reason) {
  absl::MutexLock lock(&mu_);
  std::string key =
      refusals_.size() < kMaxSources || refusals_.contains(source) ? source : kOtherSources;
  Tally& tally = refusals_[key];
  ++tally.calls;
  std::string why = PrintableText(reason, kMaxReasonBytes);
  if (tally.reasons.size() >= kMaxReasonsPerSource && !tally.reasons.contains(why)) {
    why = kOtherReasons;
  }
  ++tally.reasons[why];
}

absl::Status CallGate::FlushRefusals(bool now_all) {
  std::map<std::string, Tally> refusals;
  absl::Duration window;
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = absl::Now();
    if (!now_all && now - last_summary_ < summary_interval_) return absl::OkStatus();
    window = now - last_summary_;
    last_summary_ = now;
    refusals.swap(refusals_);
  }
  for (const auto& [source, tally] : refusals) {
    std::vector<std::string> reasons;
    for (const auto& [reason, calls] : tally.reasons) {
      reasons.push_back(absl::StrCat(reason, " (", calls, ")"));
    }
    std::string summary = absl::StrCat(tally.calls,
                                       absl::StartsWith(source, kPartnerSource)
                                           ? " calls of the partner refused in "
                                           : " calls refused without an identity in ",
                                       absl::FormatDuration(absl::Trunc(window, absl::Seconds(1))),
                                       ": ", absl::StrJoin(reasons, "; "));
    std::cerr << absl::StrCat("trenode: deny summary from ", source, ": ", summary, "\n");
    if (events_ == nullptr) continue;
    log::ActivityEvent event;
    event.action = "auth.deny.summary";
    event.object = source;
    event.outcome = "deny";
    event.reason = std::move(summary);
    RETURN_IF_ERROR(events_->Record(auth::Principal{}, std::move(event)));
  }
  return absl::OkStatus();
}

absl::StatusOr<CallGate::AdmittedStream> CallGate::AdmitStream(const grpc::ServerContext& context,
                                                               absl::string_view full_method) {
  ASSIGN_OR_RETURN(auth::Principal principal, Admit(context, full_method));
  std::string caller = absl::StrCat(static_cast<int>(principal.kind), ":", principal.subject);
  absl::StatusOr<StreamLimiter::Slot> slot = streams_.Acquire(caller);
  if (!slot.ok()) {
    CountRefusal(caller, slot.status().message());
    return slot.status();
  }
  return AdmittedStream{std::move(principal), *std::move(slot)};
}

absl::Status CallGate::Refuse(const auth::Principal& caller, absl::string_view full_method,
                              absl::Status why) {
  if (events_ != nullptr) {
    log::ActivityEvent event;
    event.action = "auth.deny";
    event.object = std::string(full_method);
    event.outcome = "deny";
    event.reason = std::string(why.message());
    if (absl::Status recorded = events_->Record(caller, std::move(event)); !recorded.ok()) {
      return LogCannotRecord(full_method, recorded);
    }
  }
  return why;
}

absl::Status CallGate::RefuseCounted(const auth::Principal& caller, absl::string_view full_method,
                                     absl::Status why) {
  if (caller.kind != auth::Principal::Kind::kNode) return Refuse(caller, full_method, why);
  CountRefusal(absl::StrCat(kPartnerSource, caller.subject),
               absl::StrCat(full_method.substr(full_method.rfind('/') + 1), ": ", why.message()));
  return why;
}

absl::StatusOr<auth::Principal> CallGate::Admit(const grpc::ServerContext& context,
                                                absl::string_view full_method,
                                                const RequestCheck& check) {
  std::string method(full_method);
  absl::StatusOr<auth::Principal> principal = authenticator_->Authenticate(context);
  if (!principal.ok()) {
    // No identity to hold to account: counted, and summarised later.
    CountRefusal(SourceOf(authenticator_->Source(context)), principal.status().message());
    return principal.status();
  }
  return AdmitPrincipal(*principal, method, check);
}

absl::StatusOr<auth::Principal> CallGate::AdmitPrincipal(const auth::Principal& caller,
                                                         absl::string_view full_method,
                                                         const RequestCheck& check) {
  std::string method(full_method);
  const bool partner = caller.kind == auth::Principal::Kind::kNode;
  if (partner) {
    // Before anything else is spent on the call.
    if (absl::Status rate = partner_rate_.Take(caller.subject); !rate.ok()) {
      // Counted under one reason (the message's retry hint varies).
      RefuseCounted(caller, method, absl::ResourceExhaustedError("over its call rate"))
          .IgnoreError();
      return rate;
    }
  }
  absl::Status decision = auth::Authorize(caller, method);
  if (decision.ok() && check) decision = check(caller);
  if (!decision.ok() && partner) return RefuseCounted(caller, method, decision);
  if (events_ != nullptr && (!decision.ok() || !IsQuietQuery(method))) {
    log::ActivityEvent event;
    event.action = decision.ok() ? "auth.allow" : "auth.deny";
    event.object = method;
    event.outcome = decision.ok() ? "allow" : "deny";
    event.reason = std::string(decision.message());
    if (absl::Status recorded = events_->Record(caller, std::move(event)); !recorded.ok()) {
      // Nothing proceeds that the log could not record.
      return LogCannotRecord(method, recorded);
    }
  }
  if (!decision.ok()) {
    std::cerr << absl::StrCat("trenode: deny ", method,
                              " caller=", PrintableText(caller.subject, kMaxReasonBytes),
                              " role=", auth::RoleName(caller.role), ": ",
                              PrintableText(decision.message(), kMaxReasonBytes), "\n");
    return decision;
  }
  return caller;
}

}  // namespace trenode::rpc
