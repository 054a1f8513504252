// The digests the cloud services' request signing is built from.
#ifndef TRENODE_ADAPTERS_CLOUD_DIGEST_H_
#define TRENODE_ADAPTERS_CLOUD_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace trenode::adapters::cloud {

// SHA-256 of `data`, 32 raw bytes.
std::string Sha256(absl::string_view data);
// HMAC-SHA256 of `data` under `key`, 32 raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view data);
// MD5 of `data`, 16 raw bytes (S3's ETags of parts; never for security).
std::string Md5(absl::string_view data);
// Lower-case hex of `bytes`.
std::string Hex(absl::string_view bytes);
// The bytes of lower- or upper-case hex `hex`; empty if it is not hex.
std::string Unhex(absl::string_view hex);

// SHA-256 of bytes given piece by piece (files streamed to or from a store).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(absl::string_view data);
  // Lower-case hex of the digest of everything given; call once.
  std::string HexDigest();

 private:
  void* context_;  // EVP_MD_CTX
};

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_DIGEST_H_
