// NodeServer: owns everything one running node is made of — its database,
// object store, domain services and the gRPC server — and its lifecycle:
// Start, Wait, and graceful Shutdown.
//
// Thread-safe: Shutdown may be called from any thread while another waits.
#ifndef TRENODE_NODE_SERVER_NODE_SERVER_H_
#define TRENODE_NODE_SERVER_NODE_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "trenode/v1/config.pb.h"

namespace trenode::web {
class WebServer;
}  // namespace trenode::web

namespace trenode::server {

class NodeServer {
 public:
  // Opens (and migrates) the database, opens the object store and starts
  // serving on config.listen_address. `extra_services` (for benchmarks and
  // tests) are served too and must outlive the server. Unavailable if the
  // address cannot be bound or storage cannot be opened.
  static absl::StatusOr<std::unique_ptr<NodeServer>> Start(
      const trenode::v1::NodeConfig& config,
      const std::vector<grpc::Service*>& extra_services = {});

  // Shuts down if still running.
  ~NodeServer();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  // The JSON API's port (config.web), or 0 if the node does not serve it.
  int web_port() const;

  // Marks the node not serving, lets in-flight calls finish for up to
  // `grace`, then cancels what is left. Idempotent.
  void Shutdown(absl::Duration grace);

  // Blocks until the server has shut down.
  void Wait();

  // Makes `config.federation()` the node's partners from the next call on
  // (a partner removed is refused at once) and records the change in the
  // activity log. The rest of `config` is not applied; `config` must have
  // been validated. Returns a line saying what changed.
  absl::StatusOr<std::string> ReloadPartners(const trenode::v1::NodeConfig& config);
  // Checks and cosigns every partner's log now, as the witness does every
  // federation.witness_interval_seconds.
  void WitnessPartnersNow();

 private:
  struct Parts;
  NodeServer();
  // The health service's status, overall and of every trenode.v1 service.
  void SetServing(bool serving);

  std::unique_ptr<Parts> parts_;
  std::unique_ptr<grpc::Server> server_;
  // After server_: stopped and destroyed before the server it calls.
  std::unique_ptr<web::WebServer> web_;
  int port_ = 0;
  bool shut_down_ = false;
  // Signs a checkpoint every interval while the log grows, and sets health
  // to NOT_SERVING while the log cannot write.
  absl::Notification stop_checkpoints_;
  std::thread checkpointer_;
};

}  // namespace trenode::server

#endif  // TRENODE_NODE_SERVER_NODE_SERVER_H_
