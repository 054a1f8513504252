#include "node/web/console_pages.h"

#include <map>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/web/console_assets.h"

namespace trenode::web {
namespace {

trenode::v1::OidcConfig Issuer(const std::string& url) {
  trenode::v1::OidcConfig oidc;
  oidc.set_issuer(url);
  oidc.add_audiences("trenode");
  oidc.set_roles_claim("realm_access.roles");
  trenode::v1::RoleMapping* mapping = oidc.add_role_mappings();
  mapping->set_claim_value("tre-checker");
  mapping->set_role(trenode::v1::ROLE_OUTPUT_CHECKER);
  return oidc;
}

std::map<std::string, std::string> Headers(const ConsoleReply& reply) {
  return {reply.headers.begin(), reply.headers.end()};
}

TEST(ConsolePagesTest, IndexIsServedWithAStrictPolicy) {
  auto pages = ConsolePages::Create(Issuer("https://idp.test:8443/realms/tre"));
  ConsoleReply index = pages.Get("/");
  EXPECT_EQ(index.http_status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_TRUE(absl::StrContains(index.body, "<script type=\"module\" src=\"/console/app.js\">"));
  auto headers = Headers(index);
  const std::string& csp = headers["Content-Security-Policy"];
  EXPECT_TRUE(absl::StrContains(csp, "script-src 'self';")) << csp;
  EXPECT_TRUE(absl::StrContains(csp, "connect-src 'self' https://idp.test:8443;")) << csp;
  EXPECT_TRUE(absl::StrContains(csp, "frame-ancestors 'none'")) << csp;
  EXPECT_FALSE(absl::StrContains(csp, "unsafe")) << csp;
  EXPECT_EQ(headers["X-Frame-Options"], "DENY");
  EXPECT_EQ(headers["Referrer-Policy"], "no-referrer");
}

TEST(ConsolePagesTest, NoInlineScriptOrStyleInAnyPage) {
  // The policy forbids them; a page that relied on one would break.
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    std::string path(asset.path), body(asset.body);
    if (!absl::EndsWith(path, ".html")) continue;
    EXPECT_FALSE(absl::StrContains(body, "<script>")) << path;
    EXPECT_FALSE(absl::StrContains(body, "style=")) << path;
    EXPECT_FALSE(absl::StrContains(body, "onclick")) << path;
    EXPECT_FALSE(absl::StrContains(body, "http://")) << path;
  }
}

TEST(ConsolePagesTest, EveryAssetIsServedWithItsType) {
  auto pages = ConsolePages::Create(Issuer(""));
  ASSERT_FALSE(ConsoleAssets().empty());
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    std::string path(asset.path);
    ConsoleReply reply = pages.Get(path);
    EXPECT_EQ(reply.http_status, 200) << path;
    EXPECT_EQ(reply.content_type, std::string(asset.content_type)) << path;
    EXPECT_EQ(reply.body, std::string(asset.body)) << path;
  }
  // Without a client id the console cannot sign in: only its own origin.
  EXPECT_TRUE(absl::StrContains(pages.content_security_policy(), "connect-src 'self';"));
}

TEST(ConsolePagesTest, ConfigNamesTheNodesIssuerAndMappings) {
  auto pages = ConsolePages::Create(Issuer("https://idp.test/realms/tre"));
  ConsoleReply config = pages.Get("/console/config.json");
  EXPECT_EQ(config.content_type, "application/json");
  EXPECT_TRUE(absl::StrContains(config.body, R"("issuer":"https://idp.test/realms/tre")")) << config.body;
  EXPECT_TRUE(absl::StrContains(config.body, R"("clientId":"trenode")")) << config.body;
  EXPECT_TRUE(absl::StrContains(config.body, R"("tre-checker":"output_checker")")) << config.body;
  EXPECT_TRUE(absl::StrContains(config.body, R"("rolesClaim":"realm_access.roles")")) << config.body;
}

TEST(ConsolePagesTest, UnknownPathsAre404WithTheHeadersToo) {
  auto pages = ConsolePages::Create(Issuer(""));
  for (const char* path : {"/console/", "/console/../web_server.cc", "/console/nope.js",
                           "/console/config.json/x"}) {
    ConsoleReply reply = pages.Get(path);
    EXPECT_EQ(reply.http_status, 404) << path;
    EXPECT_EQ(Headers(reply).count("Content-Security-Policy"), 1u) << path;
  }
  EXPECT_TRUE(ConsolePages::IsConsolePath("/"));
  EXPECT_TRUE(ConsolePages::IsConsolePath("/console/app.js"));
  EXPECT_FALSE(ConsolePages::IsConsolePath("/trenode.v1.Catalogue/GetDataset"));
}

TEST(ConsolePagesTest, NoHttpsIssuerNoSignIn) {
  for (const char* issuer : {"", "http://idp.test", "https://", "https://idp test"}) {
    ConsolePages pages = ConsolePages::Create(Issuer(issuer));
    EXPECT_TRUE(absl::StrContains(pages.Get("/console/config.json").body, R"("clientId":"")"))
        << issuer;
    EXPECT_TRUE(absl::StrContains(pages.content_security_policy(), "connect-src 'self';"))
        << issuer;
  }
}

}  // namespace
}  // namespace trenode::web
