#include "tests/testutil/test_node.h"

#include <atomic>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/credentials.h"
#include "node/auth/jwt_signer.h"
#include "tests/testutil/test_uids.h"

namespace trenode::testing {
namespace {
template <typename T>
T OrThrow(absl::StatusOr<T> value) {
  if (!value.ok()) throw std::runtime_error(std::string(value.status().message()));
  return std::move(*value);
}

// A sandbox destroys, as it starts, the cgroups its uids left behind; nodes
// sharing uids, in one test program or in two run at once, would kill each
// other's jobs. Each node gets two uids of this program's range, after the
// SandboxFactory's four; the Slurm factory's start at +32.
void GiveTheSandboxUidsOfItsOwn(trenode::v1::NodeConfig& config) {
  if (!config.compute().has_sandbox() || config.compute().sandbox().first_uid() != 0) return;
  static std::atomic<int> nodes{0};
  int node = nodes.fetch_add(1) % 12;
  auto* sandbox = config.mutable_compute()->mutable_sandbox();
  sandbox->set_first_uid(TestFirstUid() + 4 + 2 * node);
  sandbox->set_max_jobs(2);
}
}  // namespace

TestNode::TestNode(const std::function<void(trenode::v1::NodeConfig&)>& adjust,
                   const std::vector<grpc::Service*>& extra_services)
    : extra_services_(extra_services) {
  ca_ = OrThrow(pki::CreateCa("test federation", pki::ValidFor(2)));
  StartNode("test-node", adjust);
}

TestNode::TestNode(const std::string& node_id, const pki::KeyAndCertificate& ca,
                   const std::function<void(trenode::v1::NodeConfig&)>& adjust,
                   const std::vector<grpc::Service*>& extra_services)
    : ca_(ca), extra_services_(extra_services) {
  StartNode(node_id, adjust);
}

void TestNode::StartNode(const std::string& node_id,
                         const std::function<void(trenode::v1::NodeConfig&)>& adjust) {
  node_certificate_ =
      OrThrow(pki::Issue(ca_, pki::NodeCertificateRequest(node_id, pki::ValidFor(1))));
  WriteFile(dir_.path() / "pki/ca.pem", ca_.certificate_pem);
  WriteFile(dir_.path() / "pki/node.pem", node_certificate_.certificate_pem);
  WriteFile(dir_.path() / "pki/node.key", node_certificate_.key_pem);
  issuer_key_ = OrThrow(auth::DevSigningKey::Generate());
  WriteFile(dir_.path() / "pki/jwks.json", issuer_key_->JwksJson());
  log_key_ = std::make_unique<log::NoteSigner>(
      OrThrow(log::NoteSigner::Generate("trenode.test/" + node_id)));
  WriteFile(dir_.path() / "pki/log.key", log_key_->KeyString() + "\n");

  config_.set_node_id(node_id);
  config_.set_listen_address("127.0.0.1:0");
  config_.set_database_path(dir_.File("state/node.db"));
  config_.mutable_object_store()->mutable_posix()->set_root(dir_.File("objects"));
  config_.set_work_dir(dir_.File("work"));
  config_.set_max_import_bytes(64 << 20);
  config_.mutable_tls()->set_certificate_file(dir_.File("pki/node.pem"));
  config_.mutable_tls()->set_private_key_file(dir_.File("pki/node.key"));
  config_.mutable_tls()->set_client_ca_file(dir_.File("pki/ca.pem"));
  config_.mutable_oidc()->set_issuer(kIssuer);
  config_.mutable_oidc()->add_audiences(kAudience);
  config_.mutable_oidc()->set_jwks_file(dir_.File("pki/jwks.json"));
  config_.mutable_activity_log()->set_signing_key_file(dir_.File("pki/log.key"));
  config_.mutable_activity_log()->set_checkpoint_interval_seconds(1);
  if (adjust) adjust(config_);
  GiveTheSandboxUidsOfItsOwn(config_);
  server_ = OrThrow(server::NodeServer::Start(config_, extra_services_));
  // Restarts come back on the same ports, so that channels reconnect.
  config_.set_listen_address(absl::StrCat("127.0.0.1:", server_->port()));
  if (config_.has_web()) {
    config_.mutable_web()->set_listen_address(absl::StrCat("127.0.0.1:", server_->web_port()));
  }
  channel_ = Channel();
}

void TestNode::Restart(const std::function<void()>& while_stopped) {
  server_->Shutdown(absl::ZeroDuration());
  server_->Wait();
  server_.reset();
  if (while_stopped) while_stopped();
  server_ = OrThrow(server::NodeServer::Start(config_, extra_services_));
}

std::shared_ptr<grpc::Channel> TestNode::Channel(const pki::KeyAndCertificate* client) const {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_.certificate_pem;
  if (client != nullptr) {
    options.pem_private_key = client->key_pem;
    options.pem_cert_chain = client->certificate_pem;
  }
  // A fresh channel per call of this function: no sharing of TLS sessions.
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(address(), grpc::SslCredentials(options), args);
}

std::unique_ptr<trenode::v1::Catalogue::Stub> TestNode::Catalogue() const {
  return trenode::v1::Catalogue::NewStub(channel_);
}

std::string TestNode::Token(const std::string& subject,
                            const std::vector<std::string>& roles) const {
  absl::Time now = absl::Now();
  auth::DevTokenClaims claims{
      kIssuer, kAudience, subject, roles, {}, now - absl::Seconds(5), now + absl::Minutes(10)};
  return OrThrow(auth::MintDevToken(*issuer_key_, claims));
}

std::unique_ptr<grpc::ClientContext> TestNode::As(const std::string& role) const {
  if (role.empty()) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return context;
  }
  return WithToken(Token("test-" + role, {role}));
}

std::unique_ptr<grpc::ClientContext> WithToken(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

void AddPartner(trenode::v1::NodeConfig& config, const std::string& node_id,
                const std::string& address) {
  auto* partner = config.mutable_federation()->add_partners();
  partner->set_node_id(node_id);
  partner->set_address(address);
}

}  // namespace trenode::testing
