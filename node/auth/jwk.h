// JSON Web Keys (RFC 7517) for token verification: RSA keys for RS256 and
// P-256 EC keys for ES256, as OpenSSL keys. OpenSSL types stay in jwk.cc.
//
// Thread-safety: a JwkSet is immutable after parsing and may be shared.
#ifndef TRENODE_NODE_AUTH_JWK_H_
#define TRENODE_NODE_AUTH_JWK_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::auth {

enum class JwsAlgorithm { kRs256, kEs256 };

// One public key; its OpenSSL key is hidden behind an opaque handle.
class PublicJwk {
 public:
  ~PublicJwk();
  PublicJwk(const PublicJwk&) = delete;
  PublicJwk& operator=(const PublicJwk&) = delete;

  JwsAlgorithm algorithm() const { return algorithm_; }
  // True if `signature` (JWS form: PKCS#1 v1.5 for RS256, r||s for ES256)
  // signs `signed_data` with this key.
  bool Verifies(absl::string_view signed_data, absl::string_view signature) const;

 private:
  friend class JwkSet;
  friend struct JwkAccess;
  PublicJwk(void* key, JwsAlgorithm algorithm) : key_(key), algorithm_(algorithm) {}
  void* key_;  // EVP_PKEY*
  JwsAlgorithm algorithm_;
};

class JwkSet {
 public:
  // Parses {"keys": [...]}. Keys that are not signature keys of a supported
  // type (RSA >= 2048 bits; EC P-256) are skipped; keys without "kid" too.
  // InvalidArgument for JSON that is not a key set.
  static absl::StatusOr<std::shared_ptr<const JwkSet>> Parse(absl::string_view json);

  // nullptr if no key has this id.
  const PublicJwk* Find(const std::string& kid) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, std::unique_ptr<PublicJwk>> keys_;
};

// A signing key for development tokens (ES256, P-256).
class DevSigningKey {
 public:
  ~DevSigningKey();
  DevSigningKey(const DevSigningKey&) = delete;
  DevSigningKey& operator=(const DevSigningKey&) = delete;

  static absl::StatusOr<std::unique_ptr<DevSigningKey>> Generate();
  // InvalidArgument unless `pem` is a P-256 private key.
  static absl::StatusOr<std::unique_ptr<DevSigningKey>> FromPem(absl::string_view pem);

  std::string PrivatePem() const;
  // The key id: base64url of the first 12 bytes of SHA-256 of the public key.
  const std::string& kid() const { return kid_; }
  // {"keys":[{...}]} with this key's public half.
  std::string JwksJson() const;
  // r||s signature of SHA-256(data), base64url-encoded.
  absl::StatusOr<std::string> SignBase64Url(absl::string_view data) const;

 private:
  explicit DevSigningKey(void* key);
  void* key_;  // EVP_PKEY*
  std::string kid_;
};

}  // namespace trenode::auth

#endif  // TRENODE_NODE_AUTH_JWK_H_
