#include "node/rpc/call_gate.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "node/auth/authorization.h"
#include "node/auth/roles.h"
#include "node/common/status_macros.h"

namespace trenode::rpc {

absl::StatusOr<auth::Principal> CallGate::Admit(const grpc::ServerContext& context,
                                                absl::string_view full_method) {
  std::string method(full_method);
  absl::StatusOr<auth::Principal> principal = authenticator_->Authenticate(context);
  absl::Status decision = principal.ok() ? auth::Authorize(*principal, method) : principal.status();
  // Until the activity log lands, decisions go to the node's standard error.
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
