#include "node/auth/jwt_verifier.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <atomic>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "node/auth/jwks_provider.h"
#include "node/auth/jwt_signer.h"

namespace trenode::auth {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'900'000'000);

std::string B64(absl::string_view s) { return absl::WebSafeBase64Escape(s); }

// An RS256 signer with its JWKS, made here independently of the code under test.
class RsaIssuer {
 public:
  RsaIssuer() : key_(EVP_RSA_gen(2048)) {}
  ~RsaIssuer() { EVP_PKEY_free(key_); }
  std::string Jwks(const std::string& kid) const {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(key_, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key_, OSSL_PKEY_PARAM_RSA_E, &e);
    std::string n_bytes(BN_num_bytes(n), '\0'), e_bytes(BN_num_bytes(e), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char*>(n_bytes.data()));
    BN_bn2bin(e, reinterpret_cast<unsigned char*>(e_bytes.data()));
    BN_free(n);
    BN_free(e);
    return absl::StrCat(R"({"keys":[{"kty":"RSA","use":"sig","kid":")", kid, R"(","n":")",
                        B64(n_bytes), R"(","e":")", B64(e_bytes), R"("}]})");
  }
  std::string Sign(const std::string& header, const std::string& payload) const {
    std::string input = B64(header) + "." + B64(payload);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t size = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
    EVP_DigestSign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(size, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &size,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    return input + "." + B64(sig.substr(0, size));
  }

 private:
  EVP_PKEY* key_;
};

std::string Claims(absl::string_view extra = "", int64_t exp_offset = 300) {
  return absl::StrCat(R"({"iss":"https://idp.example","aud":"trenode","sub":"ada",)", R"("exp":)",
                      absl::ToUnixSeconds(kNow) + exp_offset,
                      R"(,"realm_access":{"roles":["tre-researcher","other"]})", extra, "}");
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  JwtVerifierTest() {
    policy_.issuer = "https://idp.example";
    policy_.audiences = {"trenode"};
    policy_.roles_claim = "realm_access.roles";
    policy_.role_map = {{"tre-researcher", trenode::v1::ROLE_RESEARCHER},
                        {"tre-steward", trenode::v1::ROLE_DATA_STEWARD}};
    dev_key_ = *DevSigningKey::Generate();
    jwks_ = MergedJwks();
  }
  std::string MergedJwks() {
    std::string ec = dev_key_->JwksJson();
    std::string rsa = rsa_.Jwks("rsa-1");
    // {"keys":[EC]} + {"keys":[RSA]} -> {"keys":[EC,RSA]}
    return ec.substr(0, ec.size() - 2) + "," + rsa.substr(rsa.find('[') + 1);
  }
  std::string Es256(const std::string& payload, std::string kid = "") {
    if (kid.empty()) kid = dev_key_->kid();
    std::string input =
        B64(absl::StrCat(R"({"alg":"ES256","kid":")", kid, R"("})")) + "." + B64(payload);
    return input + "." + *dev_key_->SignBase64Url(input);
  }
  std::string Rs256(const std::string& payload) {
    return rsa_.Sign(R"({"alg":"RS256","kid":"rsa-1"})", payload);
  }
  absl::StatusOr<VerifiedToken> Verify(const std::string& token) {
    CachingJwksProvider keys([this] { return absl::StatusOr<std::string>(jwks_); },
                             absl::Seconds(30), [] { return kNow; });
    JwtVerifier verifier(policy_, &keys, [] { return kNow; });
    return verifier.Verify(token);
  }
  void ExpectRefused(const std::string& token, const std::string& why) {
    auto result = Verify(token);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << why;
    EXPECT_NE(result.status().message().find(why), absl::string_view::npos) << result.status();
  }

  JwtPolicy policy_;
  RsaIssuer rsa_;
  std::unique_ptr<DevSigningKey> dev_key_;
  std::string jwks_;
};

TEST_F(JwtVerifierTest, AcceptsEs256AndRs256AndMapsRoles) {
  for (const std::string& token : {Es256(Claims()), Rs256(Claims())}) {
    auto verified = Verify(token);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->subject, "ada");
    EXPECT_EQ(verified->roles, std::set<trenode::v1::Role>{trenode::v1::ROLE_RESEARCHER});
  }
}

TEST_F(JwtVerifierTest, RefusesOtherAlgorithms) {
  std::string payload = B64(Claims());
  ExpectRefused(B64(R"({"alg":"none"})") + "." + payload + ".", "algorithm \"none\"");
  // The classic confusion attack: HMAC keyed with the public key material.
  ExpectRefused(B64(R"({"alg":"HS256","kid":"rsa-1"})") + "." + payload + "." + B64("mac"),
                "algorithm \"HS256\"");
  ExpectRefused(Es256(Claims(), "rsa-1"), "is not an ES256 key");
}

TEST_F(JwtVerifierTest, RefusesBadSignaturesAndClaims) {
  std::string good = Es256(Claims());
  std::string tampered = good;
  tampered[good.find('.') + 5] ^= 1;
  ExpectRefused(tampered, "");
  ExpectRefused(Es256(Claims(), "unknown-kid"), "key id \"unknown-kid\"");
  ExpectRefused(Es256(Claims("", -120)), "it expired at");
  EXPECT_TRUE(Verify(Es256(Claims("", -30))).ok()) << "within the 60 s skew";
  ExpectRefused(Es256(Claims(absl::StrCat(R"(,"nbf":)", absl::ToUnixSeconds(kNow) + 600))),
                "not valid before");
  ExpectRefused(
      Es256(absl::StrReplaceAll(Claims(), {{"\"aud\":\"trenode\"", "\"aud\":\"other\""}})),
      "not for this node");
  ExpectRefused(Es256(absl::StrReplaceAll(Claims(), {{"idp.example", "evil.example"}})),
                "issuer \"https://evil.example\"");
  ExpectRefused(Es256(absl::StrReplaceAll(Claims(), {{"\"sub\":\"ada\",", ""}})), "no subject");
  ExpectRefused(Es256(R"({"iss":"https://idp.example","aud":"trenode","sub":"ada"})"), "no expiry");
  ExpectRefused("not.a-token", "not a JWS");
}

TEST_F(JwtVerifierTest, AudienceMayBeAList) {
  EXPECT_TRUE(Verify(Es256(absl::StrReplaceAll(
                         Claims(), {{"\"aud\":\"trenode\"", "\"aud\":[\"x\",\"trenode\"]"}})))
                  .ok());
}

TEST_F(JwtVerifierTest, MfaPolicy) {
  policy_.require_mfa = true;
  ExpectRefused(Es256(Claims()), "multi-factor");
  ExpectRefused(Es256(Claims(R"(,"amr":["pwd"])")), "multi-factor");
  EXPECT_TRUE(Verify(Es256(Claims(R"(,"amr":["pwd","otp"])"))).ok());
}

TEST(CachingJwksProviderTest, RefreshesOnRequestButAtMostOncePerInterval) {
  absl::Time now = kNow;
  int served = 0;
  auto key = *DevSigningKey::Generate();
  CachingJwksProvider keys(
      [&] {
        ++served;
        return absl::StatusOr<std::string>(key->JwksJson());
      },
      absl::Seconds(30), [&] { return now; });
  ASSERT_TRUE(keys.Keys(false).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(keys.Keys(true).ok());
  EXPECT_EQ(served, 1);
  now += absl::Seconds(31);
  ASSERT_TRUE(keys.Keys(true).ok());
  EXPECT_EQ(served, 2);
}

// A slow issuer holds up only those who need new keys: verifications with
// the cached keys go on while a refresh waits on the network.
TEST(CachingJwksProviderTest, AFetchDoesNotHoldUpCachedKeys) {
  auto key = *DevSigningKey::Generate();
  absl::Notification fetch_started, release_fetch;
  std::atomic<int> served{0};
  CachingJwksProvider keys(
      [&] {
        if (++served == 2) {
          fetch_started.Notify();
          release_fetch.WaitForNotification();
        }
        return absl::StatusOr<std::string>(key->JwksJson());
      },
      absl::ZeroDuration());
  ASSERT_TRUE(keys.Keys(false).ok());
  std::thread refresher([&] { EXPECT_TRUE(keys.Keys(true).ok()); });
  fetch_started.WaitForNotification();
  absl::Time start = absl::Now();
  EXPECT_TRUE(keys.Keys(false).ok());  // the cached set, at once
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  release_fetch.Notify();
  refresher.join();
  EXPECT_EQ(served, 2);
}

TEST(JwksUriTest, PlainHttpOnlyForLoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHttp("http://127.0.0.1:8080/jwks"));
  EXPECT_TRUE(IsLoopbackHttp("http://localhost/jwks"));
  EXPECT_TRUE(IsLoopbackHttp("http://[::1]:9/keys"));
  EXPECT_FALSE(IsLoopbackHttp("http://127.evil.example/jwks"));
  EXPECT_FALSE(IsLoopbackHttp("http://127.0.0.1.evil.example/jwks"));
  EXPECT_FALSE(IsLoopbackHttp("http://localhost.evil.example/jwks"));
  EXPECT_FALSE(IsLoopbackHttp("http://evil.example/?127.0.0.1"));
  EXPECT_FALSE(IsLoopbackHttp("http://127.0.0.1@evil.example/"));
  EXPECT_FALSE(IsLoopbackHttp("https://127.0.0.1/jwks"));
}

TEST(CachingJwksProviderTest, KeyRotationIsPickedUpOnAnUnknownKid) {
  absl::Time now = kNow;
  auto old_key = *DevSigningKey::Generate();
  auto new_key = *DevSigningKey::Generate();
  const DevSigningKey* published = old_key.get();
  CachingJwksProvider keys([&] { return absl::StatusOr<std::string>(published->JwksJson()); },
                           absl::Seconds(30), [&] { return now; });
  JwtPolicy policy;
  policy.issuer = "iss";
  policy.audiences = {"aud"};
  JwtVerifier verifier(policy, &keys, [&] { return now; });
  DevTokenClaims claims{"iss", "aud", "bob", {}, {}, now, now + absl::Minutes(5)};
  ASSERT_TRUE(verifier.Verify(*MintDevToken(*old_key, claims)).ok());
  published = new_key.get();
  now += absl::Minutes(1);
  auto rotated = verifier.Verify(*MintDevToken(*new_key, claims));
  EXPECT_TRUE(rotated.ok()) << rotated.status();
}

}  // namespace
}  // namespace trenode::auth

namespace trenode::auth {
namespace {

TEST(JwtVerifierCacheTest, ARememberedTokenIsStillRefusedOnceExpired) {
  absl::Time now = kNow;
  auto key = *DevSigningKey::Generate();
  int fetches = 0;
  CachingJwksProvider keys(
      [&] {
        ++fetches;
        return absl::StatusOr<std::string>(key->JwksJson());
      },
      absl::Seconds(30), [&] { return now; });
  JwtPolicy policy;
  policy.issuer = "iss";
  policy.audiences = {"aud"};
  policy.clock_skew = absl::Seconds(10);
  JwtVerifier verifier(policy, &keys, [&] { return now; });
  std::string token =
      *MintDevToken(*key, {"iss", "aud", "ada", {}, {}, now, now + absl::Minutes(5)});
  ASSERT_TRUE(verifier.Verify(token).ok());
  ASSERT_TRUE(verifier.Verify(token).ok());
  now += absl::Minutes(5) + absl::Seconds(11);
  auto late = verifier.Verify(token);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(late.status().message().find("expired"), absl::string_view::npos);
}

}  // namespace
}  // namespace trenode::auth
