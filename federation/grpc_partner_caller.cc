#include "federation/grpc_partner_caller.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "node/common/files.h"
#include "node/common/status_macros.h"
#include "node/pki/pki.h"
#include "trenode/v1/activity_log.grpc.pb.h"
#include "trenode/v1/catalogue.grpc.pb.h"
#include "trenode/v1/federation.grpc.pb.h"

namespace trenode::federation {
namespace {

// Largest answer accepted from a partner.
constexpr int kMaxAnswerBytes = 4 << 20;

absl::Status FromGrpc(const grpc::Status& status, const trenode::v1::Partner& partner) {
  absl::StatusCode code = static_cast<absl::StatusCode>(status.error_code());
  std::string message = status.error_message();
  if (code == absl::StatusCode::kUnavailable) {
    message = absl::StrCat("no TLS connection to ", partner.address(),
                           " (down, or its certificate is not from the federation CA or does not"
                           " name ",
                           partner.node_id(), "): ", message);
  } else if (code == absl::StatusCode::kDeadlineExceeded) {
    message = absl::StrCat("no answer from ", partner.address(), " within the deadline");
  }
  return absl::Status(code, message);
}

// FailedPrecondition unless the call's peer certificate names `partner`.
absl::Status PeerIs(const grpc::ClientContext& context, const trenode::v1::Partner& partner) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  std::vector<grpc::string_ref> certificates =
      auth ? auth->FindPropertyValues("x509_pem_cert") : std::vector<grpc::string_ref>{};
  if (certificates.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(partner.address(), " presented no certificate"));
  }
  absl::StatusOr<pki::PeerName> peer =
      pki::PeerNameFromCertificate(std::string(certificates[0].data(), certificates[0].size()));
  if (!peer.ok() || peer->kind != pki::PeerName::Kind::kNode || peer->name != partner.node_id()) {
    return absl::FailedPreconditionError(absl::StrCat(
        partner.address(), " presented a certificate that does not name trenode://",
        partner.node_id(), peer.ok() ? absl::StrCat(" (it names ", peer->name, ")") : ""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GrpcPartnerCaller::CheckPeer(const grpc::ClientContext& context,
                                          const trenode::v1::Partner& partner) {
  return PeerIs(context, partner);
}

absl::StatusOr<std::unique_ptr<GrpcPartnerCaller>> GrpcPartnerCaller::FromFiles(
    const trenode::v1::TlsConfig& tls) {
  ClientTls client;
  for (auto [path, into, field] :
       {std::tuple{tls.certificate_file(), &client.certificate_pem, "tls.certificate_file"},
        std::tuple{tls.private_key_file(), &client.private_key_pem, "tls.private_key_file"},
        std::tuple{tls.client_ca_file(), &client.federation_ca_pem, "tls.client_ca_file"}}) {
    std::optional<std::string> text = ReadWholeFile(path);
    if (!text) return absl::InvalidArgumentError(absl::StrCat(field, ": cannot read ", path));
    *into = *std::move(text);
  }
  return std::make_unique<GrpcPartnerCaller>(std::move(client));
}

std::shared_ptr<grpc::Channel> GrpcPartnerCaller::ChannelTo(const trenode::v1::Partner& partner) {
  std::string key = absl::StrCat(partner.node_id(), " ", partner.address());
  absl::MutexLock lock(&mutex_);
  auto found = channels_.find(key);
  if (found != channels_.end()) return found->second;
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls_.federation_ca_pem;
  options.pem_private_key = tls_.private_key_pem;
  options.pem_cert_chain = tls_.certificate_pem;
  grpc::ChannelArguments arguments;
  // The handshake checks the partner's certificate for DNS <node_id>,
  // whatever host the address names.
  arguments.SetSslTargetNameOverride(partner.node_id());
  arguments.SetMaxReceiveMessageSize(kMaxAnswerBytes);
  // Pings find a connection a firewall dropped silently (a locked-down
  // partner's long-lived stream, above all) within half a minute.
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A separate connection per partner, not shared with other channels.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel =
      grpc::CreateCustomChannel(partner.address(), grpc::SslCredentials(options), arguments);
  channels_.emplace(key, channel);
  return channel;
}

template <typename Service, typename Request, typename Reply, typename Method>
absl::StatusOr<Reply> GrpcPartnerCaller::Call(const trenode::v1::Partner& partner,
                                              const Request& request, absl::Duration deadline,
                                              Method method, absl::string_view name) {
  if (partner.dials_in()) {
    // A locked-down partner: down the stream it keeps open to this node,
    // which its certificate opened (checked by the authenticator).
    if (dial_ins_ == nullptr) {
      return absl::UnavailableError(absl::StrCat("node ", partner.node_id(), " dials in"));
    }
    ASSIGN_OR_RETURN(std::string bytes,
                     dial_ins_->Call(partner.node_id(),
                                     absl::StrCat("/", Service::service_full_name(), "/", name),
                                     request.SerializeAsString(), deadline));
    Reply reply;
    if (bytes.size() > static_cast<size_t>(kMaxAnswerBytes) || !reply.ParseFromString(bytes)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "node ", partner.node_id(), " answered ", name, " with a malformed message"));
    }
    return reply;
  }
  auto stub = Service::NewStub(ChannelTo(partner));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  Reply reply;
  grpc::Status status = ((*stub).*method)(&context, request, &reply);
  if (!status.ok()) return FromGrpc(status, partner);
  RETURN_IF_ERROR(CheckPeer(context, partner));
  return reply;
}

absl::StatusOr<trenode::v1::NodeInfo> GrpcPartnerCaller::GetNodeInfo(
    const trenode::v1::Partner& partner, absl::Duration deadline) {
  ASSIGN_OR_RETURN(
      trenode::v1::NodeInfo info,
      (Call<trenode::v1::Federation, trenode::v1::GetNodeInfoRequest, trenode::v1::NodeInfo>(
          partner, {}, deadline, &trenode::v1::Federation::Stub::GetNodeInfo, "GetNodeInfo")));
  if (info.node_id() != partner.node_id()) {
    return absl::FailedPreconditionError(absl::StrCat(partner.address(), " says it is node \"",
                                                      info.node_id().substr(0, 64), "\", not ",
                                                      partner.node_id()));
  }
  return info;
}

namespace {
// FailedPrecondition unless the contribution is said to come from `partner`.
absl::StatusOr<trenode::v1::Contribution> FromPartner(
    absl::StatusOr<trenode::v1::Contribution> contribution, const trenode::v1::Partner& partner) {
  if (contribution.ok() && contribution->node_id() != partner.node_id()) {
    return absl::FailedPreconditionError(absl::StrCat(partner.address(), " answered for node \"",
                                                      contribution->node_id().substr(0, 64),
                                                      "\", not ", partner.node_id()));
  }
  return contribution;
}
}  // namespace

absl::StatusOr<trenode::v1::Contribution> GrpcPartnerCaller::SubmitContribution(
    const trenode::v1::Partner& partner, const trenode::v1::SubmitContributionRequest& request,
    absl::Duration deadline) {
  return FromPartner(
      Call<trenode::v1::Federation, trenode::v1::SubmitContributionRequest,
           trenode::v1::Contribution>(partner, request, deadline,
                                      &trenode::v1::Federation::Stub::SubmitContribution, "SubmitContribution"),
      partner);
}

absl::StatusOr<trenode::v1::Contribution> GrpcPartnerCaller::GetContribution(
    const trenode::v1::Partner& partner, const trenode::v1::ContributionRef& ref,
    absl::Duration deadline) {
  return FromPartner(
      Call<trenode::v1::Federation, trenode::v1::ContributionRef, trenode::v1::Contribution>(
          partner, ref, deadline, &trenode::v1::Federation::Stub::GetContribution, "GetContribution"),
      partner);
}

absl::StatusOr<trenode::v1::Contribution> GrpcPartnerCaller::CancelContribution(
    const trenode::v1::Partner& partner, const trenode::v1::ContributionRef& ref,
    absl::Duration deadline) {
  return FromPartner(
      Call<trenode::v1::Federation, trenode::v1::ContributionRef, trenode::v1::Contribution>(
          partner, ref, deadline, &trenode::v1::Federation::Stub::CancelContribution, "CancelContribution"),
      partner);
}

absl::StatusOr<trenode::v1::SearchDatasetsResponse> GrpcPartnerCaller::SearchDatasets(
    const trenode::v1::Partner& partner, const trenode::v1::SearchDatasetsRequest& request,
    absl::Duration deadline) {
  return Call<trenode::v1::Catalogue, trenode::v1::SearchDatasetsRequest,
              trenode::v1::SearchDatasetsResponse>(partner, request, deadline,
                                                   &trenode::v1::Catalogue::Stub::SearchDatasets, "SearchDatasets");
}

absl::StatusOr<trenode::v1::Checkpoint> GrpcPartnerCaller::GetCheckpoint(
    const trenode::v1::Partner& partner, absl::Duration deadline) {
  return Call<trenode::v1::ActivityLog, trenode::v1::GetCheckpointRequest,
              trenode::v1::Checkpoint>(partner, {}, deadline,
                                       &trenode::v1::ActivityLog::Stub::GetCheckpoint, "GetCheckpoint");
}

absl::StatusOr<trenode::v1::ConsistencyProof> GrpcPartnerCaller::GetConsistencyProof(
    const trenode::v1::Partner& partner, const trenode::v1::GetConsistencyProofRequest& request,
    absl::Duration deadline) {
  return Call<trenode::v1::ActivityLog, trenode::v1::GetConsistencyProofRequest,
              trenode::v1::ConsistencyProof>(partner, request, deadline,
                                             &trenode::v1::ActivityLog::Stub::GetConsistencyProof, "GetConsistencyProof");
}

absl::StatusOr<trenode::v1::AddCosignatureResponse> GrpcPartnerCaller::AddCosignature(
    const trenode::v1::Partner& partner, const trenode::v1::AddCosignatureRequest& request,
    absl::Duration deadline) {
  return Call<trenode::v1::Federation, trenode::v1::AddCosignatureRequest,
              trenode::v1::AddCosignatureResponse>(
      partner, request, deadline, &trenode::v1::Federation::Stub::AddCosignature, "AddCosignature");
}

absl::StatusOr<trenode::v1::Cosignatures> GrpcPartnerCaller::GetCosignatures(
    const trenode::v1::Partner& partner, absl::Duration deadline) {
  return Call<trenode::v1::Federation, trenode::v1::GetCosignaturesRequest,
              trenode::v1::Cosignatures>(partner, {}, deadline,
                                         &trenode::v1::Federation::Stub::GetCosignatures, "GetCosignatures");
}

}  // namespace trenode::federation
