#include "node/rpc/authenticator.h"

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/auth/roles.h"
#include "node/common/status_macros.h"
#include "node/pki/pki.h"

namespace trenode::rpc {
namespace {

std::optional<std::string> Header(const grpc::ServerContext& context, absl::string_view name) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(name.data(), name.size()));
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

std::string RoleList(const std::set<trenode::v1::Role>& roles) {
  std::vector<std::string> names;
  for (trenode::v1::Role role : roles) names.push_back(auth::RoleName(role));
  return absl::StrJoin(names, ", ");
}

}  // namespace

absl::StatusOr<auth::Principal> NodeAuthenticator::Person(const grpc::ServerContext& context,
                                                          absl::string_view token) {
  if (people_ == nullptr) {
    return absl::UnauthenticatedError("this node accepts no bearer tokens (no oidc configured)");
  }
  ASSIGN_OR_RETURN(auth::VerifiedToken verified, people_->Verify(token));
  auth::Principal principal;
  principal.kind = auth::Principal::Kind::kPerson;
  principal.subject = verified.subject;
  principal.expires = verified.expires;
  if (std::optional<std::string> wanted = Header(context, kRoleHeader)) {
    std::optional<trenode::v1::Role> role = auth::RoleFromName(*wanted);
    if (!role || !verified.roles.contains(*role)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "your token does not grant the role \"", *wanted, "\" at this node (it grants: ",
          verified.roles.empty() ? "none" : RoleList(verified.roles), ")"));
    }
    principal.role = *role;
  } else if (verified.roles.size() == 1) {
    principal.role = *verified.roles.begin();
  } else if (verified.roles.empty()) {
    return absl::UnauthenticatedError("your token grants no role at this node");
  } else {
    return absl::UnauthenticatedError(
        absl::StrCat("your token grants several roles (", RoleList(verified.roles),
                     "): name the one you act in with the ", kRoleHeader, " header"));
  }
  // A partner node proves itself with its certificate, never a token
  // (configuration refuses such a mapping; this holds whatever it says).
  if (principal.role == trenode::v1::ROLE_PEER_NODE) {
    return absl::PermissionDeniedError(
        "a person cannot act as a partner node; partners call with their certificate");
  }
  return principal;
}

absl::StatusOr<auth::Principal> NodeAuthenticator::Authenticate(
    const grpc::ServerContext& context) {
  if (std::optional<std::string> authorization = Header(context, "authorization")) {
    if (authorization->size() < 7 ||
        !absl::EqualsIgnoreCase(absl::string_view(*authorization).substr(0, 7), "bearer ")) {
      return absl::UnauthenticatedError("the authorization header must be \"Bearer <token>\"");
    }
    return Person(context, absl::StripAsciiWhitespace(absl::string_view(*authorization).substr(7)));
  }
  std::shared_ptr<const grpc::AuthContext> auth_context = context.auth_context();
  std::vector<grpc::string_ref> certificates =
      auth_context ? auth_context->FindPropertyValues("x509_pem_cert")
                   : std::vector<grpc::string_ref>{};
  if (certificates.empty()) {
    return absl::UnauthenticatedError(
        "no credentials: present a bearer token or a federation client certificate");
  }
  ASSIGN_OR_RETURN(pki::PeerName peer, pki::PeerNameFromCertificate(std::string(
                                           certificates[0].data(), certificates[0].size())));
  auth::Principal principal;
  principal.subject = peer.name;
  if (peer.kind == pki::PeerName::Kind::kNode) {
    if (partners_ == nullptr || !partners_->IsPartner(peer.name)) {
      return absl::PermissionDeniedError(
          absl::StrCat("node \"", peer.name, "\" is not a partner of this node"));
    }
    if (partners_->locked_down()) {
      return absl::PermissionDeniedError(
          "this node is locked down: it takes partners' calls only down the streams it opens "
          "(federation.locked_down)");
    }
    principal.kind = auth::Principal::Kind::kNode;
    principal.role = trenode::v1::ROLE_PEER_NODE;
    return principal;
  }
  // A service account is this node's: another node's service of the same
  // name is a stranger here.
  if (peer.node != node_id_) {
    return absl::PermissionDeniedError(absl::StrCat("service account \"", peer.name, "\" of node ",
                                                    peer.node, " is not an account of this node"));
  }
  auto service = services_.find(peer.name);
  if (service == services_.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("service account \"", peer.name, "\" is not configured at this node"));
  }
  principal.kind = auth::Principal::Kind::kService;
  principal.role = service->second;
  return principal;
}

std::string NodeAuthenticator::Source(const grpc::ServerContext& context) {
  return forwarded_ != nullptr ? forwarded_->SourceOf(context) : context.peer();
}

}  // namespace trenode::rpc
