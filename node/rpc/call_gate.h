// CallGate: the first step of every handler. Authenticates the caller and
// applies the node's authorization table for the method being called, so a
// handler cannot reach the domain without both. Every decision is logged.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_CALL_GATE_H_
#define TRENODE_NODE_RPC_CALL_GATE_H_

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "node/auth/principal.h"
#include "node/log/event_sink.h"
#include "node/rpc/authenticator.h"

namespace trenode::rpc {

class CallGate {
 public:
  // `authenticator` and `events` (if given) must outlive the gate. Every
  // refusal is recorded in `events`, and every admitted call except the
  // read-only queries listed in spec/activity-log.md.
  explicit CallGate(Authenticator* authenticator, log::EventSink* events = nullptr)
      : authenticator_(authenticator), events_(events) {}

  // The authenticated caller of `context`, if authorized to call
  // `full_method` ("/trenode.v1.Catalogue/GetDataset"); Unauthenticated or
  // PermissionDenied otherwise. A method missing from the authorization table
  // is denied, so a misnamed method fails closed.
  absl::StatusOr<auth::Principal> Admit(const grpc::ServerContext& context,
                                        absl::string_view full_method);

 private:
  Authenticator* authenticator_;
  log::EventSink* events_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_CALL_GATE_H_
