// A real node for tests: NodeServer on 127.0.0.1:0 over a temp directory,
// serving TLS with a fresh federation CA, and trusting tokens from a fresh
// development issuer. Helpers mint tokens and build client channels.
#ifndef TRENODE_TESTS_TESTUTIL_TEST_NODE_H_
#define TRENODE_TESTS_TESTUTIL_TEST_NODE_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "node/auth/jwk.h"
#include "node/log/signed_note.h"
#include "node/pki/pki.h"
#include "node/server/node_server.h"
#include "tests/testutil/temp_dir.h"
#include "trenode/v1/catalogue.grpc.pb.h"
#include "trenode/v1/config.pb.h"

namespace trenode::testing {

class TestNode {
 public:
  static constexpr char kIssuer[] = "https://dev-issuer.test";
  static constexpr char kAudience[] = "trenode";

  // `adjust` may change the config before the node starts; `extra_services`
  // are served too and must outlive the node.
  explicit TestNode(const std::function<void(trenode::v1::NodeConfig&)>& adjust = {},
                    const std::vector<grpc::Service*>& extra_services = {});

  // A node of a federation: named `node_id`, its certificate issued by `ca`
  // (which it trusts for client certificates), so that several TestNodes
  // can be partners.
  TestNode(const std::string& node_id, const pki::KeyAndCertificate& ca,
           const std::function<void(trenode::v1::NodeConfig&)>& adjust = {},
           const std::vector<grpc::Service*>& extra_services = {});

  const trenode::v1::NodeConfig& config() const { return config_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  // The JSON API's port (testing::ServeJson), or 0.
  int web_port() const { return server_->web_port(); }
  const TempDir& dir() const { return dir_; }
  server::NodeServer& server() { return *server_; }
  const pki::KeyAndCertificate& ca() const { return ca_; }
  const auth::DevSigningKey& issuer_key() const { return *issuer_key_; }
  const log::NoteSigner& log_key() const { return *log_key_; }

  // A TLS channel trusting the federation CA, presenting `client` if given.
  std::shared_ptr<grpc::Channel> Channel(const pki::KeyAndCertificate* client = nullptr) const;
  std::unique_ptr<trenode::v1::Catalogue::Stub> Catalogue() const;

  // A development token for `subject` granting `roles` (claim values).
  std::string Token(const std::string& subject, const std::vector<std::string>& roles) const;
  // A context carrying a token for role `role` ("data_steward", ...), or no
  // credentials for "".
  std::unique_ptr<grpc::ClientContext> As(const std::string& role) const;

  // This node's own certificate and key (as a partner presents them).
  const pki::KeyAndCertificate& node_certificate() const { return node_certificate_; }

  // Stops the node (in-flight calls are cancelled) and starts it again on
  // the same database, files and address; channels reconnect. Runs
  // `while_stopped` (if any) between the two, e.g. to tamper with its files.
  void Restart(const std::function<void()>& while_stopped = nullptr);

 private:
  void StartNode(const std::string& node_id,
                 const std::function<void(trenode::v1::NodeConfig&)>& adjust);
  TempDir dir_;
  pki::KeyAndCertificate ca_;
  pki::KeyAndCertificate node_certificate_;
  std::unique_ptr<auth::DevSigningKey> issuer_key_;
  std::unique_ptr<log::NoteSigner> log_key_;
  trenode::v1::NodeConfig config_;
  std::vector<grpc::Service*> extra_services_;
  std::unique_ptr<server::NodeServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Lists node `node_id` at `address` as a partner in `config`.
void AddPartner(trenode::v1::NodeConfig& config, const std::string& node_id,
                const std::string& address = "127.0.0.1:9");

// A context with `token` as its bearer credential and a 30 s deadline.
std::unique_ptr<grpc::ClientContext> WithToken(const std::string& token);

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_TEST_NODE_H_
