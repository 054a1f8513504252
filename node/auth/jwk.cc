#include "node/auth/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/common/status_macros.h"

namespace trenode::auth {
namespace {
using google::protobuf::Struct;
using google::protobuf::Value;

EVP_PKEY* AsKey(void* key) { return static_cast<EVP_PKEY*>(key); }

std::string Base64UrlDecode(absl::string_view text) {
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) return {};
  return out;
}

std::string Field(const Struct& object, const std::string& name) {
  auto it = object.fields().find(name);
  if (it == object.fields().end() || it->second.kind_case() != Value::kStringValue) return {};
  return it->second.string_value();
}

BIGNUM* ToBignum(const std::string& big_endian) {
  return BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
                   static_cast<int>(big_endian.size()), nullptr);
}

// An EVP_PKEY from RSA n and e, or nullptr.
EVP_PKEY* RsaKey(const std::string& n, const std::string& e) {
  if (n.size() < 256 || e.empty()) return nullptr;  // at least 2048 bits
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  BIGNUM* bn_n = ToBignum(n);
  BIGNUM* bn_e = ToBignum(e);
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, bn_e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) {
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  BN_free(bn_n);
  BN_free(bn_e);
  OSSL_PARAM_BLD_free(build);
  return key;
}

// An EVP_PKEY from P-256 coordinates, or nullptr.
EVP_PKEY* EcKey(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
  OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) {
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  return key;
}

bool DigestVerify(EVP_PKEY* key, absl::string_view data, const unsigned char* sig,
                  size_t sig_size) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, sig, sig_size,
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string Base64Url(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string BignumBytes(const BIGNUM* bn, int size) {
  std::string out(size, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  return out;
}

}  // namespace

PublicJwk::~PublicJwk() { EVP_PKEY_free(AsKey(key_)); }

bool PublicJwk::Verifies(absl::string_view signed_data, absl::string_view signature) const {
  if (algorithm_ == JwsAlgorithm::kRs256) {
    return DigestVerify(AsKey(key_), signed_data,
                        reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
  }
  if (signature.size() != 64) return false;
  // JWS carries r||s; OpenSSL wants a DER ECDSA-Sig-Value.
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, ToBignum(std::string(signature.substr(0, 32))),
                 ToBignum(std::string(signature.substr(32))));
  unsigned char* der = nullptr;
  int der_size = i2d_ECDSA_SIG(sig, &der);
  bool ok = der_size > 0 && DigestVerify(AsKey(key_), signed_data, der, der_size);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return ok;
}

absl::StatusOr<std::shared_ptr<const JwkSet>> JwkSet::Parse(absl::string_view json) {
  Struct root;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &root).ok()) {
    return absl::InvalidArgumentError("the key set is not JSON");
  }
  auto keys = root.fields().find("keys");
  if (keys == root.fields().end() || keys->second.kind_case() != Value::kListValue) {
    return absl::InvalidArgumentError("the key set has no \"keys\" array");
  }
  auto set = std::make_shared<JwkSet>();
  for (const Value& entry : keys->second.list_value().values()) {
    if (entry.kind_case() != Value::kStructValue) continue;
    const Struct& jwk = entry.struct_value();
    std::string kid = Field(jwk, "kid");
    std::string use = Field(jwk, "use");
    if (kid.empty() || (!use.empty() && use != "sig")) continue;
    std::string kty = Field(jwk, "kty");
    EVP_PKEY* key = nullptr;
    JwsAlgorithm algorithm;
    if (kty == "RSA" && (Field(jwk, "alg").empty() || Field(jwk, "alg") == "RS256")) {
      key = RsaKey(Base64UrlDecode(Field(jwk, "n")), Base64UrlDecode(Field(jwk, "e")));
      algorithm = JwsAlgorithm::kRs256;
    } else if (kty == "EC" && Field(jwk, "crv") == "P-256" &&
               (Field(jwk, "alg").empty() || Field(jwk, "alg") == "ES256")) {
      key = EcKey(Base64UrlDecode(Field(jwk, "x")), Base64UrlDecode(Field(jwk, "y")));
      algorithm = JwsAlgorithm::kEs256;
    }
    if (key == nullptr) continue;
    set->keys_[kid] = std::unique_ptr<PublicJwk>(new PublicJwk(key, algorithm));
  }
  return std::shared_ptr<const JwkSet>(std::move(set));
}

const PublicJwk* JwkSet::Find(const std::string& kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : it->second.get();
}

DevSigningKey::DevSigningKey(void* key) : key_(key) {
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(AsKey(key_), &der);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(size), digest);
  OPENSSL_free(der);
  kid_ = Base64Url(absl::string_view(reinterpret_cast<const char*>(digest), 12));
}

DevSigningKey::~DevSigningKey() { EVP_PKEY_free(AsKey(key_)); }

absl::StatusOr<std::unique_ptr<DevSigningKey>> DevSigningKey::Generate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return absl::InternalError("cannot generate a P-256 key");
  return std::unique_ptr<DevSigningKey>(new DevSigningKey(key));
}

absl::StatusOr<std::unique_ptr<DevSigningKey>> DevSigningKey::FromPem(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  char group[32] = {0};
  size_t group_size = 0;
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &group_size) != 1 ||
      std::string(group) != "prime256v1") {
    EVP_PKEY_free(key);
    return absl::InvalidArgumentError("not a PEM P-256 private key");
  }
  return std::unique_ptr<DevSigningKey>(new DevSigningKey(key));
}

std::string DevSigningKey::PrivatePem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, AsKey(key_), nullptr, nullptr, 0, nullptr, nullptr);
  char* data;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, size);
  BIO_free(bio);
  return pem;
}

std::string DevSigningKey::JwksJson() const {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EVP_PKEY_get_bn_param(AsKey(key_), OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(AsKey(key_), OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  std::string json = absl::StrCat(
      R"({"keys":[{"kty":"EC","crv":"P-256","use":"sig","alg":"ES256","kid":")", kid_, R"(","x":")",
      Base64Url(BignumBytes(x, 32)), R"(","y":")", Base64Url(BignumBytes(y, 32)), R"("}]})");
  BN_free(x);
  BN_free(y);
  return json;
}

absl::StatusOr<std::string> DevSigningKey::SignBase64Url(absl::string_view data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t size = 0;
  std::string der;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, AsKey(key_)) == 1 &&
            EVP_DigestSign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1;
  if (ok) {
    der.resize(size);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &size,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    der.resize(size);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return absl::InternalError("cannot sign");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return absl::InternalError("cannot decode the signature");
  std::string raw = BignumBytes(ECDSA_SIG_get0_r(sig), 32) + BignumBytes(ECDSA_SIG_get0_s(sig), 32);
  ECDSA_SIG_free(sig);
  return Base64Url(raw);
}

}  // namespace trenode::auth
