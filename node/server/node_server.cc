#include "node/server/node_server.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "adapters/onprem/posix_object_store.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "node/catalogue/catalogue.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/common/status_macros.h"
#include "node/rpc/authenticator.h"
#include "node/rpc/call_gate.h"
#include "node/rpc/catalogue_service.h"
#include "node/storage/node_schema.h"

namespace trenode::server {
namespace {
constexpr int kDatabaseConnections = 4;
constexpr int kMaxServerThreads = 64;
constexpr int kMaxMessageBytes = 16 << 20;
constexpr char kCatalogueService[] = "trenode.v1.Catalogue";
}  // namespace

struct NodeServer::Parts {
  std::unique_ptr<adapters::PosixObjectStore> objects;
  std::unique_ptr<storage::SqlitePool> pool;
  std::unique_ptr<catalogue::SqliteCatalogueStore> catalogue_store;
  std::unique_ptr<catalogue::Catalogue> catalogue;
  std::unique_ptr<rpc::Authenticator> authenticator;
  std::unique_ptr<rpc::CallGate> gate;
  std::unique_ptr<rpc::CatalogueService> catalogue_service;
};

NodeServer::NodeServer() : parts_(std::make_unique<Parts>()) {}

NodeServer::~NodeServer() { Shutdown(absl::Seconds(5)); }

absl::StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(
    const trenode::v1::NodeConfig& config, const std::vector<grpc::Service*>& extra_services) {
  std::unique_ptr<NodeServer> node(new NodeServer());
  Parts& parts = *node->parts_;

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(config.database_path()).parent_path(),
                                      ec);
  std::filesystem::create_directories(config.work_dir(), ec);
  ASSIGN_OR_RETURN(parts.objects,
                   adapters::PosixObjectStore::Open(config.object_store().posix().root()));
  ASSIGN_OR_RETURN(parts.pool,
                   storage::SqlitePool::Open(config.database_path(), kDatabaseConnections,
                                             storage::NodeSchemaMigrations()));
  parts.catalogue_store = std::make_unique<catalogue::SqliteCatalogueStore>(parts.pool.get());
  parts.catalogue =
      std::make_unique<catalogue::Catalogue>(parts.catalogue_store.get(), parts.objects.get());
  parts.authenticator =
      std::make_unique<rpc::DevLoopbackAuthenticator>(config.dev_identity().default_role());
  parts.gate = std::make_unique<rpc::CallGate>(parts.authenticator.get());
  ingest::ImportLimits limits;
  limits.max_total_bytes = config.max_import_bytes();
  parts.catalogue_service = std::make_unique<rpc::CatalogueService>(
      parts.gate.get(), parts.catalogue.get(), parts.objects.get(), config.work_dir(), limits);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  grpc::ResourceQuota quota("trenode");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.AddListeningPort(config.listen_address(), grpc::InsecureServerCredentials(),
                           &node->port_);
  builder.RegisterService(parts.catalogue_service.get());
  for (grpc::Service* service : extra_services) builder.RegisterService(service);
  node->server_ = builder.BuildAndStart();
  if (!node->server_ || node->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen_address(),
                                               " (in use, or not an address of this machine)"));
  }
  auto* health = node->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kCatalogueService, true);
  return node;
}

void NodeServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void NodeServer::Wait() {
  if (server_) server_->Wait();
}

}  // namespace trenode::server
