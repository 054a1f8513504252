// Bearer tokens against a fixed issuer (an ES256 and an RS256 key) and a
// fixed clock. The first byte chooses the policy and the form of the rest:
//   even: the rest is the token, verified as a client sent it;
//   odd:  the rest is header JSON, a NUL, and claims JSON, which the harness
//         signs with the issuer's ES256 key, so the claim checks are reached.
// A verified token has a subject, has not expired, carries only mapped roles,
// and verifies the same way again (from the verifier's memory).
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/auth/jwk.h"
#include "node/auth/jwt_verifier.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

using trenode::auth::JwkSet;

// A throwaway P-256 key, used only here.
constexpr char kEcPrivateKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtMXCK3xhPL2CGDZF
gqcHL41a1JRW97IkUtresC5GH2KhRANCAATzjBfSfZHlvQTDsDr7zw66LZ8qDxnk
4UbJ/251olcEj9HQUlcpMOyliXIBokoi0dR9gQNpvn8SG/GqMI+JIpnF
-----END PRIVATE KEY-----
)";

constexpr char kJwks[] = R"({"keys":[
  {"kty":"EC","crv":"P-256","use":"sig","alg":"ES256","kid":"ec-1",
   "x":"84wX0n2R5b0Ew7A6-88Oui2fKg8Z5OFGyf9udaJXBI8",
   "y":"0dBSVykw7KWJcgGiSiLR1H2BA2m-fxIb8aowj4kimcU"},
  {"kty":"RSA","use":"sig","kid":"rsa-1","e":"AQAB",
   "n":"sMU55CNcUyfS4KaeEkVB79nvnnXCrR1vi-jdaejz8XJ_yUWagsGVmZ7YN_DrFIgw2NPZIcO4t_sQLxOYA4q979FfrPORk49PxPRssKuf21GP2DHV12jspc2rqhIXvp0k4I0bafrjk0LsCZ95gMx2-ur4v1Ur-LzRqBXSo3-zur0axKgvjrD9VJ50QmiiE4XvHNh4J7CzJOTh_dbxdg1fOUAas23I5rSvhngFsb83f2L-hwMELvruRKMom-Jafv-H8q4OT61_eh0_ABMGtWsNzLGY8mnOuuvuWIyD-gcCnAV80Ladqu0nl2LZnOURGnun-AtHZt-ZMqZK-DExcBStyQ"}]})";

const absl::Time kNow = absl::FromUnixSeconds(1'900'000'000);

class FixedKeys : public trenode::auth::JwksProvider {
 public:
  FixedKeys() : keys_(*JwkSet::Parse(kJwks)) { FUZZ_CHECK(keys_->size() == 2); }
  absl::StatusOr<std::shared_ptr<const JwkSet>> Keys(bool) override { return keys_; }

 private:
  std::shared_ptr<const JwkSet> keys_;
};

trenode::auth::JwtPolicy Policy(uint8_t mode) {
  trenode::auth::JwtPolicy policy;
  policy.issuer = "https://idp.example";
  policy.audiences = {"trenode", "trenode-b"};
  policy.roles_claim = (mode & 2) ? "realm_access.roles" : "roles";
  policy.role_map = {{"tre-researcher", trenode::v1::ROLE_RESEARCHER},
                     {"tre-auditor", trenode::v1::ROLE_AUDITOR}};
  policy.require_mfa = (mode & 4) != 0;
  return policy;
}

}  // namespace

TRENODE_FUZZ_TARGET(jwt) {
  static FixedKeys* keys = new FixedKeys();
  static const trenode::auth::DevSigningKey* signer =
      trenode::auth::DevSigningKey::FromPem(kEcPrivateKey)->release();
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string token;
  if (mode & 1) {
    size_t nul = rest.find('\0');
    if (nul == absl::string_view::npos) return 0;
    std::string signed_part = absl::StrCat(absl::WebSafeBase64Escape(rest.substr(0, nul)), ".",
                                           absl::WebSafeBase64Escape(rest.substr(nul + 1)));
    absl::StatusOr<std::string> signature = signer->SignBase64Url(signed_part);
    FUZZ_CHECK(signature.ok());
    token = absl::StrCat(signed_part, ".", *signature);
  } else {
    token = std::string(rest);
  }

  trenode::auth::JwtPolicy policy = Policy(mode);
  trenode::auth::JwtVerifier verifier(policy, keys, [] { return kNow; });
  absl::StatusOr<trenode::auth::VerifiedToken> verified = verifier.Verify(token);
  if (!verified.ok()) {
    FUZZ_CHECK(verified.status().code() == absl::StatusCode::kUnauthenticated);
    return 0;
  }
  FUZZ_CHECK(!verified->subject.empty());
  FUZZ_CHECK(kNow < verified->expires + policy.clock_skew);
  for (trenode::v1::Role role : verified->roles) {
    FUZZ_CHECK(role == trenode::v1::ROLE_RESEARCHER || role == trenode::v1::ROLE_AUDITOR);
  }
  absl::StatusOr<trenode::auth::VerifiedToken> again = verifier.Verify(token);
  FUZZ_CHECK(again.ok() && again->subject == verified->subject && again->roles == verified->roles);
  return 0;
}
