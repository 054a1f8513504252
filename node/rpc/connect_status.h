// The one place a gRPC status becomes the Connect protocol's error for the
// JSON API (spec/json-api.md): its code name ("permission_denied") and HTTP
// status (403), as https://connectrpc.com/docs/protocol#error-codes maps them.
// Statuses the node decides are made by ToGrpcStatus (grpc_status.h) first,
// so that both transports carry the same code and message.
#ifndef TRENODE_NODE_RPC_CONNECT_STATUS_H_
#define TRENODE_NODE_RPC_CONNECT_STATUS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace trenode::rpc {

// "invalid_argument" for INVALID_ARGUMENT, ...; "unknown" for a code gRPC
// does not define. OK has no Connect name and gives "ok".
absl::string_view ConnectCodeName(grpc::StatusCode code);

// The HTTP status of a unary error with `code`: 400, 401, 403, 404, 409,
// 429, 499, 500, 501, 503 or 504 (200 for OK).
int ConnectHttpStatus(grpc::StatusCode code);

// {"code":"permission_denied","message":"..."}: a Connect error as JSON.
// `status` must not be OK.
std::string ConnectErrorJson(const grpc::Status& status);

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_CONNECT_STATUS_H_
