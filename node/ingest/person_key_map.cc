#include "node/ingest/person_key_map.h"

#include <cstdlib>
#include <cstring>

namespace trenode::ingest {

PersonKeyMap::PersonKeyMap(int64_t max_persons) : max_persons_(max_persons) {
  digest_.md.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  digest_.context.reset(EVP_MD_CTX_new());
  // Without a digest (no provider) keys are looked up in SQL instead.
  usable_ = digest_.md != nullptr && digest_.context != nullptr;
}

absl::uint128 PersonKeyMap::Fingerprint(absl::string_view key) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* context = digest_.context.get();
  if (EVP_DigestInit_ex(context, digest_.md.get(), nullptr) != 1 ||
      EVP_DigestUpdate(context, key.data(), key.size()) != 1 ||
      EVP_DigestFinal_ex(context, digest, &size) != 1 || size < 16) {
    std::abort();  // SHA-256 of bytes in memory cannot fail once fetched
  }
  uint64_t high, low;
  std::memcpy(&high, digest, sizeof high);
  std::memcpy(&low, digest + sizeof high, sizeof low);
  return absl::MakeUint128(high, low);
}

void PersonKeyMap::Add(absl::string_view key, int64_t rowid) {
  if (!usable_) return;
  if (static_cast<int64_t>(rowids_.size()) >= max_persons_ ||
      !rowids_.emplace(Fingerprint(key), rowid).second) {
    usable_ = false;
    rowids_ = {};
  }
}

}  // namespace trenode::ingest
