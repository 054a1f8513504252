// CallGate: the first step of every handler. Authenticates the caller and
// applies the node's authorization table for the method being called, so a
// handler cannot reach the domain without both. Every decision is logged.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_CALL_GATE_H_
#define TRENODE_NODE_RPC_CALL_GATE_H_

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "node/auth/principal.h"
#include "node/rpc/authenticator.h"

namespace trenode::rpc {

class CallGate {
 public:
  // `authenticator` must outlive the gate.
  explicit CallGate(Authenticator* authenticator) : authenticator_(authenticator) {}

  // The authenticated caller of `context`, if authorized to call
  // `full_method` ("/trenode.v1.Catalogue/GetDataset"); Unauthenticated or
  // PermissionDenied otherwise. A method missing from the authorization table
  // is denied, so a misnamed method fails closed.
  absl::StatusOr<auth::Principal> Admit(const grpc::ServerContext& context,
                                        absl::string_view full_method);

 private:
  Authenticator* authenticator_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_CALL_GATE_H_
