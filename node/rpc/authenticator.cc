#include "node/rpc/authenticator.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/auth/roles.h"

namespace trenode::rpc {
namespace {

bool IsLoopbackPeer(const std::string& peer) {
  return absl::StartsWith(peer, "ipv4:127.") || absl::StartsWith(peer, "ipv6:[::1]") ||
         absl::StartsWith(peer, "unix:");
}

std::optional<std::string> Header(const grpc::ServerContext& context, absl::string_view name) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(name.data(), name.size()));
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

absl::StatusOr<auth::Principal> DevLoopbackAuthenticator::Authenticate(
    const grpc::ServerContext& context) {
  std::string peer = context.peer();
  if (!IsLoopbackPeer(peer)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "this node accepts only loopback callers until TLS is configured; ", peer, " is not one"));
  }
  auth::Principal principal;
  principal.subject = Header(context, kSubjectHeader).value_or("local-user");
  principal.role = default_role_;
  if (std::optional<std::string> role_name = Header(context, kRoleHeader)) {
    std::optional<trenode::v1::Role> role = auth::RoleFromName(*role_name);
    if (!role) {
      return absl::UnauthenticatedError(
          absl::StrCat(kRoleHeader, " \"", *role_name, "\" is not a role"));
    }
    principal.role = *role;
  }
  if (principal.role == trenode::v1::ROLE_UNSPECIFIED) {
    return absl::UnauthenticatedError(
        absl::StrCat("no role: send ", kRoleHeader, " or configure dev_identity.default_role"));
  }
  return principal;
}

}  // namespace trenode::rpc
