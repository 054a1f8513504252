#include "node/rpc/federation_service.h"

#include <algorithm>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "federation/partner_errors.h"
#include "federation/stall_guard.h"
#include "node/common/status_macros.h"
#include "node/rpc/grpc_status.h"
#include "node/rpc/handle.h"

namespace trenode::rpc {
namespace {
constexpr char kService[] = "trenode.v1.Federation";

// The person a partner asks for is checked before the call is logged.
CallGate::RequestCheck SubjectCheck(const std::string& subject) {
  return [&subject](const auth::Principal& partner) {
    return federation::Contributions::PersonOf(partner, subject).status();
  };
}
}  // namespace

grpc::Status FederationService::GetNodeInfo(grpc::ServerContext* context,
                                            const trenode::v1::GetNodeInfoRequest*,
                                            trenode::v1::NodeInfo* reply) {
  return Handle(*gate_, kService, "GetNodeInfo", context, reply,
                [&](const auth::Principal&) { return federation_->GetNodeInfo(); });
}

grpc::Status FederationService::ListPartners(grpc::ServerContext* context,
                                             const trenode::v1::ListPartnersRequest*,
                                             trenode::v1::ListPartnersResponse* reply) {
  return Handle(*gate_, kService, "ListPartners", context, reply,
                [&](const auth::Principal&) -> absl::StatusOr<trenode::v1::ListPartnersResponse> {
                  // Leave a little of the caller's deadline for the reply.
                  absl::Duration left =
                      absl::FromChrono(context->deadline()) - absl::Now() - absl::Milliseconds(200);
                  return federation_->ListPartners(std::max(left, absl::Milliseconds(100)));
                });
}

grpc::Status FederationService::SearchFederation(
    grpc::ServerContext* context, const trenode::v1::SearchFederationRequest* request,
    trenode::v1::SearchFederationResponse* reply) {
  return Handle(
      *gate_, kService, "SearchFederation", context, reply,
      [&](const auth::Principal& caller) -> absl::StatusOr<trenode::v1::SearchFederationResponse> {
        absl::Duration left =
            absl::FromChrono(context->deadline()) - absl::Now() - absl::Milliseconds(200);
        return federation_->Search(
            *request,
            [&](const trenode::v1::SearchDatasetsRequest& ask) {
              return catalogue_->Search(caller, ask);
            },
            std::max(left, absl::Milliseconds(100)));
      });
}

grpc::Status FederationService::SubmitContribution(
    grpc::ServerContext* context, const trenode::v1::SubmitContributionRequest* request,
    trenode::v1::Contribution* reply) {
  return HandleChecked(
      *gate_, kService, "SubmitContribution", context, reply, SubjectCheck(request->subject()),
      [&](const auth::Principal& partner) -> absl::StatusOr<trenode::v1::Contribution> {
        ASSIGN_OR_RETURN(auth::Principal person,
                         federation::Contributions::PersonOf(partner, request->subject()));
        return contributions_->Submit(person, *request);
      });
}

grpc::Status FederationService::GetContribution(grpc::ServerContext* context,
                                                const trenode::v1::ContributionRef* request,
                                                trenode::v1::Contribution* reply) {
  return HandleChecked(
      *gate_, kService, "GetContribution", context, reply, SubjectCheck(request->subject()),
      [&](const auth::Principal& partner) -> absl::StatusOr<trenode::v1::Contribution> {
        ASSIGN_OR_RETURN(auth::Principal person,
                         federation::Contributions::PersonOf(partner, request->subject()));
        // Held at most until shortly before the caller stops waiting.
        absl::Duration wait = std::min(
            absl::Milliseconds(request->wait_ms()),
            absl::FromChrono(context->deadline()) - absl::Now() - absl::Milliseconds(200));
        return contributions_->Get(person, request->request_id(), request->known_state(), wait);
      });
}

grpc::Status FederationService::CancelContribution(grpc::ServerContext* context,
                                                   const trenode::v1::ContributionRef* request,
                                                   trenode::v1::Contribution* reply) {
  return HandleChecked(
      *gate_, kService, "CancelContribution", context, reply, SubjectCheck(request->subject()),
      [&](const auth::Principal& partner) -> absl::StatusOr<trenode::v1::Contribution> {
        ASSIGN_OR_RETURN(auth::Principal person,
                         federation::Contributions::PersonOf(partner, request->subject()));
        return contributions_->Cancel(person, request->request_id());
      });
}

grpc::Status FederationService::AddCosignature(grpc::ServerContext* context,
                                               const trenode::v1::AddCosignatureRequest* request,
                                               trenode::v1::AddCosignatureResponse* reply) {
  return Handle(
      *gate_, kService, "AddCosignature", context, reply,
      [&](const auth::Principal& witness) -> absl::StatusOr<trenode::v1::AddCosignatureResponse> {
        auto added = witnessing_.book->Add(witness.subject, *request);
        if (!added.ok() && !federation::IsFault(added.status())) {
          // A partner's malformed cosignatures are summarised, not
          // logged one by one.
          return gate_->RefuseCounted(witness, absl::StrCat("/", kService, "/AddCosignature"),
                                      added.status());
        }
        return added;
      });
}

grpc::Status FederationService::GetCosignatures(grpc::ServerContext* context,
                                                const trenode::v1::GetCosignaturesRequest*,
                                                trenode::v1::Cosignatures* reply) {
  return Handle(*gate_, kService, "GetCosignatures", context, reply,
                [&](const auth::Principal&) { return witnessing_.book->All(); });
}

grpc::Status FederationService::GetWitnessStatus(grpc::ServerContext* context,
                                                 const trenode::v1::GetWitnessStatusRequest*,
                                                 trenode::v1::WitnessStatus* reply) {
  return Handle(*gate_, kService, "GetWitnessStatus", context, reply,
                [&](const auth::Principal&) { return witnessing_.witness->Status(); });
}

grpc::Status FederationService::GetFederationLogs(grpc::ServerContext* context,
                                                  const trenode::v1::GetFederationLogsRequest*,
                                                  trenode::v1::FederationLogs* reply) {
  return Handle(*gate_, kService, "GetFederationLogs", context, reply,
                [&](const auth::Principal&) { return witnessing_.relay->Collect(); });
}

grpc::Status FederationService::Attend(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<trenode::v1::RelayedCall, trenode::v1::AttendUp>* stream) {
  // Not from the pool of people's streams: one per partner, replaced by
  // its next (DialIns), so people's streams cannot crowd partners out.
  const std::string method = absl::StrCat("/", kService, "/Attend");
  // Checked before the admission is logged: a partner that is not one
  // that dials in is refused (and summarised) without an allow entry.
  absl::StatusOr<auth::Principal> admitted =
      gate_->Admit(*context, method, [&](const auth::Principal& caller) {
        if (caller.kind != auth::Principal::Kind::kNode) {
          return absl::PermissionDeniedError("only partner nodes attend");
        }
        return dial_ins_->MayOpen(caller.subject);
      });
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  const std::string partner = admitted->subject;
  // Closing the stream here (a new one replaces it, the partner is
  // unlisted, the node stops) cancels it, so a write blocked on a partner
  // that stopped reading returns; TryCancel may be called from any thread.
  absl::StatusOr<std::shared_ptr<federation::DialIns::Stream>> opened =
      dial_ins_->Open(partner, [context] { context->TryCancel(); });
  if (!opened.ok()) {
    return ToGrpcStatus(gate_->RefuseCounted(*admitted, method, opened.status()));
  }
  std::shared_ptr<federation::DialIns::Stream> open = *std::move(opened);
  // A partner that leaves a call untaken past the write timeout has the
  // stream ended (its calls fail as for any stream that ends), as a
  // locked-down node ends a stream its partner stopped reading (DialOut).
  federation::StallGuard guard([context] { context->TryCancel(); });
  {
    federation::StallGuard::Step step =
        guard.Begin("the stream's opening", dial_ins_->WriteTimeout());
    stream->SendInitialMetadata();
  }
  // Replies are read on a thread of their own while calls are written here.
  std::thread reader([&] {
    trenode::v1::AttendUp up;
    while (stream->Read(&up)) {
      if (up.has_reply()) open->Deliver(up.reply());
    }
    dial_ins_->Close(partner, open);
  });
  while (!context->IsCancelled() && open->open()) {
    std::optional<trenode::v1::RelayedCall> call = open->Next(absl::Milliseconds(200));
    if (!call) continue;
    federation::StallGuard::Step step =
        guard.Begin(absl::StrCat("writing ", call->method().substr(0, 100), " down it"),
                    dial_ins_->WriteTimeout());
    if (!stream->Write(*call)) break;
  }
  dial_ins_->Close(partner, open);
  context->TryCancel();  // ends the reader's Read if the partner has not
  reader.join();
  if (std::optional<std::string> what = guard.Stalled()) {
    std::cerr << absl::StrCat("trenode: ended the stream partner ", partner,
                              " dialled in on: stalled at ", *what, "\n");
  }
  return grpc::Status::OK;
}

}  // namespace trenode::rpc
