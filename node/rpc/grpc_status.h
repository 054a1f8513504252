// The one place absl::Status becomes grpc::Status. Codes map one to one;
// the message is kept.
#ifndef TRENODE_NODE_RPC_GRPC_STATUS_H_
#define TRENODE_NODE_RPC_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace trenode::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_GRPC_STATUS_H_
