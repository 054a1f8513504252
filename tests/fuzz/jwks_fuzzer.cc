// An issuer's key set (JWKS JSON) as JwkSet::Parse reads it from a file or
// an HTTPS fetch. A parsed set holds at most one key per listed entry, and
// none of its keys verifies a signature that no one made.
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/auth/jwk.h"
#include "tests/fuzz/fuzz_target.h"

TRENODE_FUZZ_TARGET(jwks) {
  std::string json(reinterpret_cast<const char*>(data), size);
  auto keys = trenode::auth::JwkSet::Parse(json);
  if (!keys.ok()) {
    FUZZ_CHECK(keys.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  google::protobuf::Struct root;
  FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(json, &root).ok());
  const auto& entries = root.fields().at("keys").list_value().values();
  FUZZ_CHECK((*keys)->size() <= static_cast<size_t>(entries.size()));
  const std::string forged_rsa(256, '\x5a');
  const std::string forged_ec(64, '\x01');
  for (const google::protobuf::Value& entry : entries) {
    auto kid = entry.struct_value().fields().find("kid");
    if (kid == entry.struct_value().fields().end()) continue;
    const trenode::auth::PublicJwk* key = (*keys)->Find(kid->second.string_value());
    if (key == nullptr) continue;
    FUZZ_CHECK(!key->Verifies("header.payload", forged_rsa));
    FUZZ_CHECK(!key->Verifies("header.payload", forged_ec));
  }
  return 0;
}
