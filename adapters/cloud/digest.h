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
// Lower-case hex of `bytes`.
std::string Hex(absl::string_view bytes);

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_DIGEST_H_
