#include "node/rpc/forwarded_calls.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "openssl/crypto.h"
#include "openssl/rand.h"

namespace trenode::rpc {
namespace {

std::optional<std::string> Header(const grpc::ServerContext& context, absl::string_view name) {
  const auto& metadata = context.client_metadata();
  if (metadata.count(grpc::string_ref(name.data(), name.size())) != 1) return std::nullopt;
  auto it = metadata.find(grpc::string_ref(name.data(), name.size()));
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

ForwardedCalls::ForwardedCalls() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // No randomness: no key can match, and every source is the peer.
    return;
  }
  key_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

void ForwardedCalls::Mark(grpc::ClientContext& context, const std::string& client_address) const {
  context.AddMetadata(kClientHeader, client_address);
  context.AddMetadata(kKeyHeader, key_);
}

std::string ForwardedCalls::SourceOf(const grpc::ServerContext& context) const {
  std::optional<std::string> key = Header(context, kKeyHeader);
  std::optional<std::string> client = Header(context, kClientHeader);
  if (!key_.empty() && key && client && key->size() == key_.size() &&
      CRYPTO_memcmp(key->data(), key_.data(), key_.size()) == 0) {
    return *client;
  }
  return context.peer();
}

}  // namespace trenode::rpc
