#include "node/auth/jwt_verifier.h"

#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/common/status_macros.h"

namespace trenode::auth {
namespace {
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kMaxTokenBytes = 16 * 1024;

absl::Status Refuse(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("bearer token refused: ", why));
}

absl::StatusOr<Struct> DecodeJsonPart(absl::string_view part, absl::string_view name) {
  std::string json;
  if (!absl::WebSafeBase64Unescape(part, &json))
    return Refuse(absl::StrCat(name, " is not base64url"));
  Struct object;
  if (!google::protobuf::util::JsonStringToMessage(json, &object).ok()) {
    return Refuse(absl::StrCat(name, " is not a JSON object"));
  }
  return object;
}

const Value* Find(const Struct& object, const std::string& name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

std::string String(const Struct& object, const std::string& name) {
  const Value* value = Find(object, name);
  return value && value->kind_case() == Value::kStringValue ? value->string_value() : "";
}

// Seconds since the epoch, or nullopt if absent or not a number. A number
// past the range of int64 seconds is the infinite future or past.
std::optional<absl::Time> Time(const Struct& object, const std::string& name) {
  const Value* value = Find(object, name);
  if (!value || value->kind_case() != Value::kNumberValue ||
      !std::isfinite(value->number_value())) {
    return std::nullopt;
  }
  const double seconds = value->number_value();
  if (seconds >= 0x1p63) return absl::InfiniteFuture();
  if (seconds < -0x1p63) return absl::InfinitePast();
  return absl::FromUnixSeconds(static_cast<int64_t>(seconds));
}

std::vector<std::string> Strings(const Value* value) {
  std::vector<std::string> out;
  if (value == nullptr) return out;
  if (value->kind_case() == Value::kStringValue) out.push_back(value->string_value());
  if (value->kind_case() == Value::kListValue) {
    for (const Value& item : value->list_value().values()) {
      if (item.kind_case() == Value::kStringValue) out.push_back(item.string_value());
    }
  }
  return out;
}

const Value* FindPath(const Struct& object, const std::string& path) {
  const Struct* current = &object;
  const Value* value = nullptr;
  for (absl::string_view step : absl::StrSplit(path, '.')) {
    if (current == nullptr) return nullptr;
    value = Find(*current, std::string(step));
    if (value == nullptr) return nullptr;
    current = value->kind_case() == Value::kStructValue ? &value->struct_value() : nullptr;
  }
  return value;
}

}  // namespace

absl::StatusOr<VerifiedToken> JwtVerifier::Verify(absl::string_view token) const {
  {
    absl::MutexLock lock(&mu_);
    auto it = verified_.find(token);
    if (it != verified_.end()) {
      if (clock_() < it->second.expires + policy_.clock_skew) return it->second;
      verified_.erase(it);
    }
  }
  absl::StatusOr<VerifiedToken> verified = VerifyUncached(token);
  if (verified.ok()) {
    absl::MutexLock lock(&mu_);
    if (verified_.size() >= kRememberedTokens) verified_.clear();
    verified_.emplace(std::string(token), *verified);
  }
  return verified;
}

absl::StatusOr<VerifiedToken> JwtVerifier::VerifyUncached(absl::string_view token) const {
  if (token.size() > kMaxTokenBytes) return Refuse("longer than 16 KiB");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Refuse("not a JWS compact token (three dot-separated parts)");
  ASSIGN_OR_RETURN(Struct header, DecodeJsonPart(parts[0], "header"));
  ASSIGN_OR_RETURN(Struct claims, DecodeJsonPart(parts[1], "payload"));
  std::string signature;
  if (!absl::WebSafeBase64Unescape(parts[2], &signature))
    return Refuse("signature is not base64url");

  std::string alg = String(header, "alg");
  JwsAlgorithm algorithm;
  if (alg == "RS256") {
    algorithm = JwsAlgorithm::kRs256;
  } else if (alg == "ES256") {
    algorithm = JwsAlgorithm::kEs256;
  } else {
    return Refuse(absl::StrCat("algorithm \"", alg, "\" is not accepted (RS256 or ES256 only)"));
  }
  std::string kid = String(header, "kid");
  if (kid.empty()) return Refuse("header has no key id (kid)");
  ASSIGN_OR_RETURN(std::shared_ptr<const JwkSet> keys, keys_->Keys(/*refresh=*/false));
  const PublicJwk* key = keys->Find(kid);
  if (key == nullptr) {
    // The issuer may have rotated its keys: look once more.
    ASSIGN_OR_RETURN(keys, keys_->Keys(/*refresh=*/true));
    key = keys->Find(kid);
  }
  if (key == nullptr)
    return Refuse(absl::StrCat("key id \"", kid, "\" is not one of the issuer's keys"));
  if (key->algorithm() != algorithm)
    return Refuse(absl::StrCat("key \"", kid, "\" is not an ", alg, " key"));
  absl::string_view signed_part(parts[0].data(), parts[0].size() + 1 + parts[1].size());
  if (!key->Verifies(signed_part, signature)) return Refuse("signature does not verify");

  if (String(claims, "iss") != policy_.issuer) {
    return Refuse(absl::StrCat("issuer \"", String(claims, "iss"), "\" is not trusted"));
  }
  bool audience_ok = false;
  for (const std::string& aud : Strings(Find(claims, "aud"))) {
    audience_ok = audience_ok || policy_.audiences.contains(aud);
  }
  if (!audience_ok) return Refuse("it is not for this node (aud)");
  absl::Time now = clock_();
  std::optional<absl::Time> expires = Time(claims, "exp");
  if (!expires) return Refuse("it has no expiry (exp)");
  if (now >= *expires + policy_.clock_skew) {
    return Refuse(absl::StrCat("it expired at ",
                               absl::FormatTime(absl::RFC3339_sec, *expires, absl::UTCTimeZone())));
  }
  if (std::optional<absl::Time> not_before = Time(claims, "nbf");
      not_before && now < *not_before - policy_.clock_skew) {
    return Refuse(
        absl::StrCat("it is not valid before ",
                     absl::FormatTime(absl::RFC3339_sec, *not_before, absl::UTCTimeZone())));
  }
  VerifiedToken verified;
  verified.subject = String(claims, "sub");
  if (verified.subject.empty()) return Refuse("it has no subject (sub)");
  // The subject names the person in every record (subject@node-id).
  bool plain = verified.subject.size() <= 255;
  for (char c : verified.subject) {
    plain = plain && c != '@' && c > ' ' && c < 0x7F;
  }
  if (!plain) {
    return Refuse("its subject (sub) must be at most 255 printable ASCII characters, without "
                  "spaces or '@'");
  }
  verified.expires = *expires;
  if (policy_.require_mfa) {
    bool mfa = false;
    for (const std::string& method : Strings(Find(claims, "amr"))) {
      mfa = mfa || policy_.mfa_methods.contains(method);
    }
    if (!mfa) return Refuse("this node requires multi-factor authentication (amr)");
  }
  for (const std::string& name : Strings(FindPath(claims, policy_.roles_claim))) {
    auto it = policy_.role_map.find(name);
    if (it != policy_.role_map.end()) verified.roles.insert(it->second);
  }
  return verified;
}

}  // namespace trenode::auth
