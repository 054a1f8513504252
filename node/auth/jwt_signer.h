// Mints development tokens (ES256) with a DevSigningKey, for `trectl token`,
// demos and tests. Development only: production tokens come from the
// institution's OIDC provider.
#ifndef TRENODE_NODE_AUTH_JWT_SIGNER_H_
#define TRENODE_NODE_AUTH_JWT_SIGNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/auth/jwk.h"

namespace trenode::auth {

struct DevTokenClaims {
  std::string issuer;
  std::string audience;
  std::string subject;
  std::vector<std::string> roles;  // placed at "roles"
  std::vector<std::string> amr;    // omitted if empty
  absl::Time not_before;
  absl::Time expires;
};

absl::StatusOr<std::string> MintDevToken(const DevSigningKey& key, const DevTokenClaims& claims);

}  // namespace trenode::auth

#endif  // TRENODE_NODE_AUTH_JWT_SIGNER_H_
