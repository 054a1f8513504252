#include "node/rpc/relayed_calls.h"

#include "absl/strings/str_cat.h"
#include "federation/partner_errors.h"
#include "node/common/status_macros.h"
#include "node/log/merkle.h"
#include "node/rpc/activity_log_service.h"

namespace trenode::rpc {
namespace {

template <typename Request>
absl::StatusOr<Request> Parsed(const std::string& bytes) {
  Request request;
  if (!request.ParseFromString(bytes)) {
    return absl::InvalidArgumentError("the relayed request does not parse");
  }
  return request;
}

// Wraps `call(partner, request)` for serialized messages; the check only
// parses the request.
template <typename Request, typename Call>
RelayedCalls::Handler Typed(Call call) {
  return {[](const auth::Principal&, const std::string& bytes) {
            return Parsed<Request>(bytes).status();
          },
          [call](const auth::Principal& partner,
                 const std::string& bytes) -> absl::StatusOr<std::string> {
            ASSIGN_OR_RETURN(Request request, Parsed<Request>(bytes));
            auto reply = call(partner, request);
            if (!reply.ok()) return reply.status();
            return reply->SerializeAsString();
          }};
}

// As Typed, for a request that names a person of the partner: the check
// also refuses a subject that names no one (Contributions::PersonOf).
template <typename Request, typename Call>
RelayedCalls::Handler ForPerson(Call call) {
  RelayedCalls::Handler handler = Typed<Request>(call);
  handler.check = [](const auth::Principal& partner, const std::string& bytes) {
    ASSIGN_OR_RETURN(Request request, Parsed<Request>(bytes));
    return federation::Contributions::PersonOf(partner, request.subject()).status();
  };
  return handler;
}
}  // namespace

RelayedCalls::RelayedCalls(RelayedParts parts) : parts_(parts) {
  RelayedParts p = parts_;
  handlers_["/trenode.v1.Federation/GetNodeInfo"] =
      Typed<trenode::v1::GetNodeInfoRequest>([p](const auth::Principal&, const auto&) {
        return absl::StatusOr<trenode::v1::NodeInfo>(p.federation->GetNodeInfo());
      });
  handlers_["/trenode.v1.Federation/SubmitContribution"] =
      ForPerson<trenode::v1::SubmitContributionRequest>(
          [p](const auth::Principal& partner, const trenode::v1::SubmitContributionRequest& request)
              -> absl::StatusOr<trenode::v1::Contribution> {
            ASSIGN_OR_RETURN(auth::Principal person,
                             federation::Contributions::PersonOf(partner, request.subject()));
            return p.contributions->Submit(person, request);
          });
  handlers_["/trenode.v1.Federation/GetContribution"] = ForPerson<trenode::v1::ContributionRef>(
      [p](const auth::Principal& partner,
          const trenode::v1::ContributionRef& ref) -> absl::StatusOr<trenode::v1::Contribution> {
        ASSIGN_OR_RETURN(auth::Principal person,
                         federation::Contributions::PersonOf(partner, ref.subject()));
        return p.contributions->Get(person, ref.request_id());
      });
  handlers_["/trenode.v1.Federation/CancelContribution"] = ForPerson<trenode::v1::ContributionRef>(
      [p](const auth::Principal& partner,
          const trenode::v1::ContributionRef& ref) -> absl::StatusOr<trenode::v1::Contribution> {
        ASSIGN_OR_RETURN(auth::Principal person,
                         federation::Contributions::PersonOf(partner, ref.subject()));
        return p.contributions->Cancel(person, ref.request_id());
      });
  handlers_["/trenode.v1.Federation/AddCosignature"] = Typed<trenode::v1::AddCosignatureRequest>(
      [p](const auth::Principal& partner, const trenode::v1::AddCosignatureRequest& request) {
        return p.cosignatures->Add(partner.subject, request);
      });
  handlers_["/trenode.v1.Federation/GetCosignatures"] = Typed<trenode::v1::GetCosignaturesRequest>(
      [p](const auth::Principal&, const auto&) { return p.cosignatures->All(); });
  handlers_["/trenode.v1.ActivityLog/GetCheckpoint"] =
      Typed<trenode::v1::GetCheckpointRequest>([p](const auth::Principal&, const auto&) {
        return ActivityLogService::CurrentCheckpoint(*p.activity_log);
      });
  handlers_["/trenode.v1.ActivityLog/GetConsistencyProof"] =
      Typed<trenode::v1::GetConsistencyProofRequest>(
          [p](const auth::Principal&, const trenode::v1::GetConsistencyProofRequest& request) {
            return ActivityLogService::Consistency(*p.activity_log, request);
          });
  handlers_["/trenode.v1.Catalogue/SearchDatasets"] = Typed<trenode::v1::SearchDatasetsRequest>(
      [p](const auth::Principal& partner, const trenode::v1::SearchDatasetsRequest& request) {
        return p.catalogue->Search(partner, request);
      });
}

trenode::v1::RelayedReply RelayedCalls::Serve(const std::string& partner_id,
                                              const trenode::v1::RelayedCall& call) {
  trenode::v1::RelayedReply reply;
  reply.set_id(call.id());
  auto fail = [&](absl::Status status) {
    // A fault's own text stays here.
    status = federation::ForPartner(std::move(status), partner_id, call.method());
    reply.set_code(static_cast<int>(status.code()));
    reply.set_message(status.message().empty() ? "the node failed without saying why"
                                               : std::string(status.message()));
    return reply;
  };
  // Removing a partner revokes it at once, on a stream already open too.
  if (!parts_.partners->IsPartner(partner_id)) {
    return fail(absl::PermissionDeniedError(
        absl::StrCat("node \"", partner_id, "\" is not a partner of this node")));
  }
  auth::Principal partner{partner_id, trenode::v1::ROLE_PEER_NODE, auth::Principal::Kind::kNode};
  auto handler = handlers_.find(call.method());
  if (handler == handlers_.end()) {
    // Still through the gate, so that the refusal is decided and logged
    // as any other.
    absl::StatusOr<auth::Principal> admitted = parts_.gate->AdmitPrincipal(partner, call.method());
    if (!admitted.ok()) return fail(admitted.status());
    return fail(absl::UnimplementedError(
        absl::StrCat(call.method().substr(0, 100), " is not served down a partner's stream")));
  }
  const Handler& serve = handler->second;
  absl::StatusOr<auth::Principal> admitted = parts_.gate->AdmitPrincipal(
      partner, call.method(),
      [&](const auth::Principal& caller) { return serve.check(caller, call.request()); });
  if (!admitted.ok()) return fail(admitted.status());
  absl::StatusOr<std::string> response = serve.serve(*admitted, call.request());
  if (!response.ok()) {
    // A partner's refusals by the domain (a malformed cosignature) are
    // summarised as the gRPC handlers' are.
    if (call.method() == "/trenode.v1.Federation/AddCosignature" &&
        !federation::IsFault(response.status())) {
      return fail(parts_.gate->RefuseCounted(*admitted, call.method(), response.status()));
    }
    return fail(response.status());
  }
  reply.set_response(*std::move(response));
  return reply;
}

}  // namespace trenode::rpc
