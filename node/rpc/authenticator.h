// Authenticator: who is calling, from the transport and call metadata.
// Implementations are thread-safe.
#ifndef TRENODE_NODE_RPC_AUTHENTICATOR_H_
#define TRENODE_NODE_RPC_AUTHENTICATOR_H_

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "node/auth/principal.h"

namespace trenode::rpc {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The caller's principal; Unauthenticated if it cannot be established.
  virtual absl::StatusOr<auth::Principal> Authenticate(const grpc::ServerContext& context) = 0;
};

// DEVELOPMENT ONLY, until TLS and tokens land: trusts a loopback caller's
// "x-trenode-dev-role" header, else gives it `default_role`. Refuses
// callers that are not on loopback.
class DevLoopbackAuthenticator : public Authenticator {
 public:
  static constexpr char kRoleHeader[] = "x-trenode-dev-role";
  static constexpr char kSubjectHeader[] = "x-trenode-dev-subject";

  explicit DevLoopbackAuthenticator(trenode::v1::Role default_role) : default_role_(default_role) {}
  absl::StatusOr<auth::Principal> Authenticate(const grpc::ServerContext& context) override;

 private:
  trenode::v1::Role default_role_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_AUTHENTICATOR_H_
