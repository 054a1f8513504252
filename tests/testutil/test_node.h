// A real node for tests: NodeServer on 127.0.0.1:0 over a temp directory,
// with stubs that present a chosen development role.
#ifndef TRENODE_TESTS_TESTUTIL_TEST_NODE_H_
#define TRENODE_TESTS_TESTUTIL_TEST_NODE_H_

#include <memory>
#include <string>

#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "node/server/node_server.h"
#include "tests/testutil/temp_dir.h"
#include "trenode/v1/catalogue.grpc.pb.h"
#include "trenode/v1/config.pb.h"

namespace trenode::testing {

class TestNode {
 public:
  // Starts a node whose callers without a role header get `default_role`.
  explicit TestNode(trenode::v1::Role default_role = trenode::v1::ROLE_UNSPECIFIED);

  const trenode::v1::NodeConfig& config() const { return config_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  const TempDir& dir() const { return dir_; }
  server::NodeServer& server() { return *server_; }

  std::unique_ptr<trenode::v1::Catalogue::Stub> Catalogue() const;
  // A context claiming `role` ("data_steward", ...), or none for "".
  static std::unique_ptr<grpc::ClientContext> As(const std::string& role);

 private:
  TempDir dir_;
  trenode::v1::NodeConfig config_;
  std::unique_ptr<server::NodeServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_TEST_NODE_H_
