// GrpcForwarder: makes a JSON API call a gRPC call of the node itself, over
// the node's in-process channel, so that the same handlers, CallGate,
// authorization table, activity log and limits decide it as decide every
// gRPC call. Only the caller's bearer token and role header are forwarded,
// with the HTTP client's address (ForwardedCalls); an in-process call carries
// no certificate, so over the JSON API only people can be named.
// Thread-safe.
#ifndef TRENODE_NODE_WEB_GRPC_FORWARDER_H_
#define TRENODE_NODE_WEB_GRPC_FORWARDER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "node/rpc/forwarded_calls.h"

namespace trenode::web {

// What the HTTP request says of its caller.
struct CallerHeaders {
  std::optional<std::string> authorization;  // "Bearer <JWT>"
  std::optional<std::string> role;           // x-trenode-role
  std::string client_address;                // "ipv4:192.0.2.1:50000"
};

class GrpcForwarder {
 public:
  // `channel` is the node's in-process channel; `forwarded` must outlive the
  // forwarder.
  GrpcForwarder(std::shared_ptr<grpc::Channel> channel, const rpc::ForwardedCalls* forwarded)
      : channel_(std::move(channel)), forwarded_(forwarded) {}

  // Calls unary `method` ("/trenode.v1.Catalogue/GetDataset") with the
  // binary `request`, by `deadline`. On OK, `*reply` holds the binary reply.
  grpc::Status Unary(const std::string& method, const std::string& request,
                     const CallerHeaders& caller, absl::Time deadline, std::string* reply) const;

  // Calls server-streaming `method`; each binary reply goes to `on_reply`
  // (false: cancel the call). `cancelled` is asked about every `poll` while
  // no reply arrives (true: cancel the call). Returns the call's status.
  grpc::Status ServerStream(const std::string& method, const std::string& request,
                            const CallerHeaders& caller, std::optional<absl::Time> deadline,
                            const std::function<bool(const std::string&)>& on_reply,
                            const std::function<bool()>& cancelled,
                            absl::Duration poll = absl::Milliseconds(200)) const;

 private:
  void Prepare(grpc::ClientContext& context, const CallerHeaders& caller) const;

  std::shared_ptr<grpc::Channel> channel_;
  const rpc::ForwardedCalls* forwarded_;
};

}  // namespace trenode::web

#endif  // TRENODE_NODE_WEB_GRPC_FORWARDER_H_
