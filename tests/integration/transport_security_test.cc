// What reaches a node at all: TLS only, client certificates from the
// federation CA only, and bearer tokens that pass every check.
#include "absl/strings/escaping.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "node/auth/jwt_signer.h"
#include "tests/testutil/datasets.h"
#include "tests/testutil/test_node.h"

namespace trenode {
namespace {
using testing::TestNode;
using testing::WithToken;

grpc::StatusCode ListWith(const std::shared_ptr<grpc::Channel>& channel,
                          std::unique_ptr<grpc::ClientContext> context) {
  trenode::v1::ListDatasetsRequest request;
  trenode::v1::ListDatasetsResponse reply;
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return trenode::v1::Catalogue::NewStub(channel)
      ->ListDatasets(context.get(), request, &reply)
      .error_code();
}

std::unique_ptr<grpc::ClientContext> NoCredentials() {
  return std::make_unique<grpc::ClientContext>();
}

TEST(TransportSecurityTest, PlaintextIsRefused) {
  TestNode node;
  auto plaintext = grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(ListWith(plaintext, node.As("researcher")), grpc::StatusCode::UNAVAILABLE);
}

TEST(TransportSecurityTest, ClientMustTrustTheNodesCa) {
  TestNode node;
  auto stranger_ca = *pki::CreateCa("somebody else", pki::ValidFor(1));
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = stranger_ca.certificate_pem;
  auto channel = grpc::CreateChannel(node.address(), grpc::SslCredentials(options));
  EXPECT_EQ(ListWith(channel, node.As("researcher")), grpc::StatusCode::UNAVAILABLE);
}

TEST(TransportSecurityTest, ClientCertificatesFromAForeignCaAreRefused) {
  TestNode node;
  auto foreign_ca = *pki::CreateCa("foreign federation", pki::ValidFor(1));
  auto impostor =
      *pki::Issue(foreign_ca, pki::NodeCertificateRequest("test-node", pki::ValidFor(1)));
  EXPECT_EQ(ListWith(node.Channel(&impostor), NoCredentials()), grpc::StatusCode::UNAVAILABLE);
}

TEST(TransportSecurityTest, ExpiredClientCertificatesAreRefused) {
  TestNode node;
  absl::Time now = absl::Now();
  auto expired = *pki::Issue(
      node.ca(),
      pki::NodeCertificateRequest("old-partner", {now - absl::Hours(48), now - absl::Hours(24)}));
  EXPECT_EQ(ListWith(node.Channel(&expired), NoCredentials()), grpc::StatusCode::UNAVAILABLE);
}

TEST(TransportSecurityTest, NoCredentialsIsUnauthenticated) {
  TestNode node;
  EXPECT_EQ(ListWith(node.Channel(), NoCredentials()), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(TransportSecurityTest, PeerNodesAndServiceAccountsByCertificate) {
  TestNode node([](trenode::v1::NodeConfig& config) {
    auto* account = config.add_service_accounts();
    account->set_name("curation-bot");
    account->set_role(trenode::v1::ROLE_DATA_STEWARD);
    testing::AddPartner(config, "partner-b");
  });
  auto partner = *pki::Issue(node.ca(), pki::NodeCertificateRequest("partner-b", pki::ValidFor(1)));
  EXPECT_EQ(ListWith(node.Channel(&partner), NoCredentials()), grpc::StatusCode::OK);
  // A node the federation CA vouches for, but that this node does not list.
  auto unlisted =
      *pki::Issue(node.ca(), pki::NodeCertificateRequest("stranger-c", pki::ValidFor(1)));
  EXPECT_EQ(ListWith(node.Channel(&unlisted), NoCredentials()),
            grpc::StatusCode::PERMISSION_DENIED);

  trenode::v1::RegisterDatasetRequest request;
  *request.mutable_dataset() = testing::SampleDataset("by-bot", "Registered by a service");
  trenode::v1::Dataset reply;
  auto partner_stub = trenode::v1::Catalogue::NewStub(node.Channel(&partner));
  EXPECT_EQ(partner_stub->RegisterDataset(NoCredentials().get(), request, &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  auto bot =
      *pki::Issue(node.ca(), pki::ServiceCertificateRequest("test-node", "curation-bot", pki::ValidFor(1)));
  auto bot_stub = trenode::v1::Catalogue::NewStub(node.Channel(&bot));
  // Authorized as a steward: it gets as far as the missing data file.
  EXPECT_EQ(bot_stub->RegisterDataset(NoCredentials().get(), request, &reply).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // A partner's service of the same name gets nothing here.
  auto partners_bot = *pki::Issue(
      node.ca(), pki::ServiceCertificateRequest("site-b", "curation-bot", pki::ValidFor(1)));
  grpc::Status foreign = trenode::v1::Catalogue::NewStub(node.Channel(&partners_bot))
                             ->RegisterDataset(NoCredentials().get(), request, &reply);
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(foreign.error_message(),
            "service account \"curation-bot\" of node site-b is not an account of this node");

  auto stranger = *pki::Issue(
      node.ca(), pki::ServiceCertificateRequest("test-node", "unknown-bot", pki::ValidFor(1)));
  grpc::ClientContext context;
  trenode::v1::ListDatasetsResponse listed;
  grpc::Status status =
      trenode::v1::Catalogue::NewStub(node.Channel(&stranger))->ListDatasets(&context, {}, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "service account \"unknown-bot\" is not configured at this node");
}

class TokenTest : public ::testing::Test {
 protected:
  std::string Mint(const std::function<void(auth::DevTokenClaims&)>& change,
                   const auth::DevSigningKey* key = nullptr) {
    absl::Time now = absl::Now();
    auth::DevTokenClaims claims{
        TestNode::kIssuer,      TestNode::kAudience,   "ada", {"researcher"}, {},
        now - absl::Seconds(5), now + absl::Minutes(5)};
    change(claims);
    return *auth::MintDevToken(key ? *key : node_.issuer_key(), claims);
  }
  grpc::Status List(const std::string& token, const std::string& role = "") {
    auto context = WithToken(token);
    if (!role.empty()) context->AddMetadata("x-trenode-role", role);
    trenode::v1::ListDatasetsResponse reply;
    return node_.Catalogue()->ListDatasets(context.get(), {}, &reply);
  }
  void ExpectRefused(const std::string& token, const std::string& why) {
    grpc::Status status = List(token);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << why;
    EXPECT_NE(status.error_message().find(why), std::string::npos) << status.error_message();
  }
  TestNode node_;
};

TEST_F(TokenTest, AValidTokenIsAccepted) {
  EXPECT_TRUE(List(Mint([](auto&) {})).ok());
}

TEST_F(TokenTest, EveryBadTokenIsRefusedWithItsReason) {
  absl::Time now = absl::Now();
  ExpectRefused(Mint([&](auto& c) { c.expires = now - absl::Minutes(5); }), "expired");
  ExpectRefused(Mint([&](auto& c) { c.not_before = now + absl::Minutes(10); }), "not valid before");
  ExpectRefused(Mint([](auto& c) { c.audience = "another-service"; }), "not for this node");
  ExpectRefused(Mint([](auto& c) { c.issuer = "https://evil.example"; }), "issuer");
  auto other_key = *auth::DevSigningKey::Generate();
  ExpectRefused(Mint([](auto&) {}, other_key.get()), "is not one of the issuer's keys");
  // Right key id, wrong signature.
  std::string good = Mint([](auto&) {});
  std::string forged = good.substr(0, good.rfind('.') + 1) +
                       *other_key->SignBase64Url(good.substr(0, good.rfind('.')));
  ExpectRefused(forged, "signature does not verify");
  std::string payload = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  ExpectRefused(absl::WebSafeBase64Escape(R"({"alg":"none"})") + "." + payload + ".",
                "algorithm \"none\"");
  ExpectRefused(absl::WebSafeBase64Escape(
                    absl::StrCat(R"({"alg":"HS256","kid":")", node_.issuer_key().kid(), R"("})")) +
                    "." + payload + "." + absl::WebSafeBase64Escape("mac"),
                "algorithm \"HS256\"");
  grpc::Status garbage = List("garbage");
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TokenTest, SeveralRolesMeansNamingOne) {
  std::string token = Mint([](auto& c) { c.roles = {"researcher", "output_checker"}; });
  EXPECT_EQ(List(token).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(List(token, "output_checker").ok());
  grpc::Status not_granted = List(token, "data_steward");
  EXPECT_EQ(not_granted.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(not_granted.error_message(),
            "your token does not grant the role \"data_steward\" at this node (it grants: "
            "researcher, output_checker)");
  // peer_node is never a person's role, whatever the token says: such a
  // token grants no role here.
  EXPECT_EQ(List(Mint([](auto& c) { c.roles = {"peer_node"}; })).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST(MfaPolicyTest, PeopleNeedAMultiFactorLogin) {
  TestNode node(
      [](trenode::v1::NodeConfig& config) { config.mutable_oidc()->set_require_mfa(true); });
  absl::Time now = absl::Now();
  auth::DevTokenClaims claims{
      TestNode::kIssuer,      TestNode::kAudience,   "ada", {"researcher"}, {"pwd"},
      now - absl::Seconds(5), now + absl::Minutes(5)};
  trenode::v1::ListDatasetsResponse reply;
  grpc::Status password_only = node.Catalogue()->ListDatasets(
      WithToken(*auth::MintDevToken(node.issuer_key(), claims)).get(), {}, &reply);
  EXPECT_EQ(password_only.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(password_only.error_message().find("multi-factor"), std::string::npos);
  claims.amr = {"pwd", "otp"};
  EXPECT_TRUE(node.Catalogue()
                  ->ListDatasets(WithToken(*auth::MintDevToken(node.issuer_key(), claims)).get(),
                                 {}, &reply)
                  .ok());
}

}  // namespace
}  // namespace trenode
