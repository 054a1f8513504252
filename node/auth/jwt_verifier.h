// Verifies OIDC bearer tokens (JWS compact serialization, RFC 7515/7519) and
// turns them into the person's subject and node roles.
//
// Accepted: RS256 and ES256 only ("none", HS*, and anything else refused);
// the key by "kid" from the issuer's key set, refreshed once on an unknown kid;
// "iss" equal to the configured issuer; "aud" containing an accepted
// audience; "exp" required and "nbf" honoured, both with a small skew;
// non-empty "sub". Roles come from a claim path ("realm_access.roles")
// mapped to node roles; values without a mapping are ignored. With
// require_mfa, "amr" must hold one of the accepted methods.
//
// Verified tokens are remembered (bounded, by the whole token) so that a
// client reusing its token pays for the signature check once; a remembered
// token is still refused once it expires.
//
// Thread-safe.
#ifndef TRENODE_NODE_AUTH_JWT_VERIFIER_H_
#define TRENODE_NODE_AUTH_JWT_VERIFIER_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node/auth/jwks_provider.h"
#include "trenode/v1/roles.pb.h"

namespace trenode::auth {

struct JwtPolicy {
  std::string issuer;
  std::set<std::string> audiences;
  absl::Duration clock_skew = absl::Seconds(60);
  // Dot-separated path to an array (or single string) of role names.
  std::string roles_claim = "roles";
  std::map<std::string, trenode::v1::Role> role_map;
  bool require_mfa = false;
  std::set<std::string> mfa_methods = {"mfa", "otp", "hwk", "swk", "sms", "totp"};
};

struct VerifiedToken {
  std::string subject;
  std::set<trenode::v1::Role> roles;
  absl::Time expires;
};

class JwtVerifier {
 public:
  using Clock = std::function<absl::Time()>;
  // `keys` must outlive the verifier.
  JwtVerifier(JwtPolicy policy, JwksProvider* keys, Clock clock = &absl::Now)
      : policy_(std::move(policy)), keys_(keys), clock_(std::move(clock)) {}

  // Unauthenticated saying exactly what is wrong; Unavailable if the
  // issuer's keys cannot be obtained.
  absl::StatusOr<VerifiedToken> Verify(absl::string_view token) const;

 private:
  static constexpr size_t kRememberedTokens = 4096;
  absl::StatusOr<VerifiedToken> VerifyUncached(absl::string_view token) const;

  JwtPolicy policy_;
  JwksProvider* keys_;
  Clock clock_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, VerifiedToken> verified_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::auth

#endif  // TRENODE_NODE_AUTH_JWT_VERIFIER_H_
