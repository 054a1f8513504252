// Authenticator: who is calling, from the TLS channel and call metadata, never
// from a request body. Implementations are thread-safe.
#ifndef TRENODE_NODE_RPC_AUTHENTICATOR_H_
#define TRENODE_NODE_RPC_AUTHENTICATOR_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "federation/partner_directory.h"
#include "grpcpp/server_context.h"
#include "node/auth/jwt_verifier.h"
#include "node/auth/principal.h"
#include "node/rpc/forwarded_calls.h"

namespace trenode::rpc {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The caller's principal; Unauthenticated if it cannot be established.
  virtual absl::StatusOr<auth::Principal> Authenticate(const grpc::ServerContext& context) = 0;
  // Where the call comes from ("ipv4:10.1.2.3:54321"), to count refusals
  // against; by default the connection's peer.
  virtual std::string Source(const grpc::ServerContext& context) { return context.peer(); }
};

// The node's authenticator:
// - a call with "authorization: Bearer <JWT>" is a person, verified by
//   `people` (nullptr: tokens are refused); a person whose token grants
//   several roles names the one they act in with "x-trenode-role";
// - otherwise a verified client certificate names a peer node
//   (trenode://<node-id>, role peer_node), served only while `partners`
//   lists it, or one of this node's service accounts
//   (trenode://<this-node>/service/<name>, role from `services`);
// - otherwise the call is Unauthenticated.
// A call the node's JSON API forwards over the in-process channel carries no
// certificate, so only a bearer token can name its caller; its source is the
// HTTP client that `forwarded` names.
class NodeAuthenticator : public Authenticator {
 public:
  static constexpr char kRoleHeader[] = "x-trenode-role";

  // `people`, `partners` and `forwarded` must outlive the authenticator; a
  // null `partners` lists none; a null `forwarded` believes no forwarded
  // source.
  NodeAuthenticator(const auth::JwtVerifier* people, std::string node_id,
                    std::map<std::string, trenode::v1::Role> services,
                    const federation::PartnerDirectory* partners,
                    const ForwardedCalls* forwarded = nullptr)
      : people_(people),
        node_id_(std::move(node_id)),
        services_(std::move(services)),
        partners_(partners),
        forwarded_(forwarded) {}
  absl::StatusOr<auth::Principal> Authenticate(const grpc::ServerContext& context) override;
  std::string Source(const grpc::ServerContext& context) override;

 private:
  absl::StatusOr<auth::Principal> Person(const grpc::ServerContext& context,
                                         absl::string_view token);
  const auth::JwtVerifier* people_;
  std::string node_id_;
  std::map<std::string, trenode::v1::Role> services_;
  const federation::PartnerDirectory* partners_;
  const ForwardedCalls* forwarded_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_AUTHENTICATOR_H_
