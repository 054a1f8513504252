#include "node/rpc/grpc_status.h"

namespace trenode::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering (both follow
  // google.rpc.Code).
  std::string message(status.message());
  // An empty INTERNAL is reserved for the framework's own parse failures
  // (status_interceptor.h); and nobody can act on an empty message.
  if (message.empty()) message = "the node failed without saying why; its log may say more";
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

}  // namespace trenode::rpc
