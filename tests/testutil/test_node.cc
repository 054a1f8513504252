#include "tests/testutil/test_node.h"

#include <stdexcept>

#include "grpcpp/security/credentials.h"

namespace trenode::testing {

TestNode::TestNode(trenode::v1::Role default_role) {
  config_.set_node_id("test-node");
  config_.set_listen_address("127.0.0.1:0");
  config_.set_database_path(dir_.File("state/node.db"));
  config_.mutable_object_store()->mutable_posix()->set_root(dir_.File("objects"));
  config_.set_work_dir(dir_.File("work"));
  config_.set_max_import_bytes(64 << 20);
  config_.mutable_dev_identity()->set_default_role(default_role);
  auto server = server::NodeServer::Start(config_);
  if (!server.ok()) throw std::runtime_error(std::string(server.status().message()));
  server_ = std::move(*server);
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

std::unique_ptr<trenode::v1::Catalogue::Stub> TestNode::Catalogue() const {
  return trenode::v1::Catalogue::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> TestNode::As(const std::string& role) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!role.empty()) context->AddMetadata("x-trenode-dev-role", role);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

}  // namespace trenode::testing
