#include "node/web/console_pages.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/auth/roles.h"
#include "node/web/console_assets.h"

namespace trenode::web {
namespace {

constexpr char kConfigPath[] = "/console/config.json";

// "https://idp.example:8443" of "https://idp.example:8443/realms/tre"; empty
// if `url` is not https.
std::string HttpsOrigin(const std::string& url) {
  if (!absl::StartsWith(url, "https://")) return "";
  size_t end = url.find_first_of("/?#", 8);
  std::string origin = url.substr(0, end);
  if (origin.size() == 8) return "";
  for (char c : origin) {
    // An origin that could break out of the CSP header's grammar.
    if (c == ' ' || c == ';' || c == ',' || c == '\'' || c < 0x21 || c > 0x7e) return "";
  }
  return origin;
}

std::string ConfigJson(const trenode::v1::OidcConfig& oidc) {
  google::protobuf::Struct config;
  auto& fields = *config.mutable_fields();
  fields["issuer"].set_string_value(oidc.issuer());
  // The console is the public client whose tokens carry the node's first
  // audience (spec/web-console.md); no https issuer, no sign-in.
  fields["clientId"].set_string_value(
      HttpsOrigin(oidc.issuer()).empty() || oidc.audiences().empty() ? "" : oidc.audiences(0));
  fields["rolesClaim"].set_string_value(oidc.roles_claim().empty() ? "roles" : oidc.roles_claim());
  auto* audiences = fields["audiences"].mutable_list_value();
  for (const std::string& audience : oidc.audiences()) {
    audiences->add_values()->set_string_value(audience);
  }
  // Claim value -> role name; empty: the role names map to themselves.
  auto* mappings = fields["roleMappings"].mutable_struct_value()->mutable_fields();
  for (const trenode::v1::RoleMapping& mapping : oidc.role_mappings()) {
    (*mappings)[mapping.claim_value()].set_string_value(auth::RoleName(mapping.role()));
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(config, &json);
  return json;
}

}  // namespace

ConsolePages ConsolePages::Create(const trenode::v1::OidcConfig& oidc) {
  std::string issuer_origin = HttpsOrigin(oidc.issuer());
  // No inline script or style, no eval, nothing from another origin but
  // the issuer's (discovery and token endpoint); no framing; forms post
  // nowhere.
  std::string connect = "'self'";
  if (!issuer_origin.empty()) absl::StrAppend(&connect, " ", issuer_origin);
  std::string csp = absl::StrCat(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
      "connect-src ",
      connect,
      "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'");
  return ConsolePages(std::move(csp), ConfigJson(oidc));
}

bool ConsolePages::IsConsolePath(const std::string& path) {
  return path == "/" || path == "/index.html" || absl::StartsWith(path, "/console/");
}

void ConsolePages::AddSecurityHeaders(ConsoleReply& reply) const {
  reply.headers.emplace_back("Content-Security-Policy", csp_);
  reply.headers.emplace_back("X-Frame-Options", "DENY");
  reply.headers.emplace_back("Referrer-Policy", "no-referrer");
  reply.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  reply.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  reply.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
}

ConsoleReply ConsolePages::Get(const std::string& path) const {
  ConsoleReply reply;
  AddSecurityHeaders(reply);
  std::string wanted = path == "/" || path == "/index.html" ? "/console/index.html" : path;
  if (wanted == kConfigPath) {
    reply.content_type = "application/json";
    reply.body = config_json_;
    return reply;
  }
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    if (asset.path == wanted) {
      reply.content_type = std::string(asset.content_type);
      reply.body = std::string(asset.body);
      return reply;
    }
  }
  reply.http_status = 404;
  reply.content_type = "text/plain; charset=utf-8";
  reply.body = "no such page\n";
  return reply;
}

}  // namespace trenode::web
