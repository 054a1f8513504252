#include "node/auth/jwt_signer.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/common/status_macros.h"

namespace trenode::auth {
namespace {
using google::protobuf::Struct;
using google::protobuf::Value;

Value ListOf(const std::vector<std::string>& items) {
  Value value;
  for (const std::string& item : items)
    value.mutable_list_value()->add_values()->set_string_value(item);
  return value;
}

std::string Json(const Struct& object) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(object, &json);
  return json;
}
}  // namespace

absl::StatusOr<std::string> MintDevToken(const DevSigningKey& key, const DevTokenClaims& claims) {
  Struct header;
  (*header.mutable_fields())["alg"].set_string_value("ES256");
  (*header.mutable_fields())["typ"].set_string_value("JWT");
  (*header.mutable_fields())["kid"].set_string_value(key.kid());
  Struct payload;
  auto& fields = *payload.mutable_fields();
  fields["iss"].set_string_value(claims.issuer);
  fields["aud"].set_string_value(claims.audience);
  fields["sub"].set_string_value(claims.subject);
  fields["iat"].set_number_value(static_cast<double>(absl::ToUnixSeconds(claims.not_before)));
  fields["nbf"].set_number_value(static_cast<double>(absl::ToUnixSeconds(claims.not_before)));
  fields["exp"].set_number_value(static_cast<double>(absl::ToUnixSeconds(claims.expires)));
  fields["roles"] = ListOf(claims.roles);
  if (!claims.amr.empty()) fields["amr"] = ListOf(claims.amr);
  std::string signing_input = absl::StrCat(absl::WebSafeBase64Escape(Json(header)), ".",
                                           absl::WebSafeBase64Escape(Json(payload)));
  ASSIGN_OR_RETURN(std::string signature, key.SignBase64Url(signing_input));
  return absl::StrCat(signing_input, ".", signature);
}

}  // namespace trenode::auth
