// ForwardedCalls: how the node's JSON API (node/web) tells the gRPC server
// where a call it forwards over the in-process channel came from. The front
// end names the HTTP client's address in the call's metadata together with a
// key made fresh at start that never leaves the process; the address is
// believed only with the key, so no caller can choose the source its
// refusals are counted against (CallGate's refusal summaries).
// Immutable after construction; thread-safe.
#ifndef TRENODE_NODE_RPC_FORWARDED_CALLS_H_
#define TRENODE_NODE_RPC_FORWARDED_CALLS_H_

#include <string>

#include "grpcpp/client_context.h"
#include "grpcpp/server_context.h"

namespace trenode::rpc {

class ForwardedCalls {
 public:
  static constexpr char kClientHeader[] = "x-trenode-forwarded-for";
  static constexpr char kKeyHeader[] = "x-trenode-forwarder-key";

  // Makes a fresh random key.
  ForwardedCalls();

  // Adds to `context` the metadata naming `client_address`
  // ("ipv4:192.0.2.1:50000") as the call's source.
  void Mark(grpc::ClientContext& context, const std::string& client_address) const;

  // The address Mark named, if `context` carries this process's key;
  // otherwise the connection's peer (context.peer()).
  std::string SourceOf(const grpc::ServerContext& context) const;

 private:
  std::string key_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_FORWARDED_CALLS_H_
