// A server interceptor for the one failure gRPC reports by itself: a request
// that does not parse as the method's message (malformed bytes, invalid
// UTF-8 in a string field, or messages nested deeper than protobuf's limit
// of 100) would otherwise reach the caller as INTERNAL with an empty message.
// It becomes INVALID_ARGUMENT naming the method and the likely causes. Every
// status the node itself sends goes through ToGrpcStatus, which never sends
// INTERNAL without a message, so only the framework's parse failure matches.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_STATUS_INTERCEPTOR_H_
#define TRENODE_NODE_RPC_STATUS_INTERCEPTOR_H_

#include <memory>

#include "grpcpp/support/server_interceptor.h"

namespace trenode::rpc {

class ParseFailureInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_STATUS_INTERCEPTOR_H_
