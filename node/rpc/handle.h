// The shape of every unary handler: admit the caller to the method (the one
// authorization gate), run the domain call with the principal, fill the reply
// (or tell the caller the failure as it may be told it: ForCaller).
#ifndef TRENODE_NODE_RPC_HANDLE_H_
#define TRENODE_NODE_RPC_HANDLE_H_

#include "absl/strings/str_cat.h"
#include "federation/partner_errors.h"
#include "grpcpp/server_context.h"
#include "node/rpc/call_gate.h"
#include "node/rpc/grpc_status.h"

namespace trenode::rpc {

// A failure as `caller` may be told it: a partner node is told a fault
// of this node as federation::ForPartner writes it (its own text, paths
// and all, stays in this node's stderr); anyone else as it is. The one
// place direct calls' failures are written for partners (RelayedCalls is
// the one for calls down a locked-down node's stream).
inline absl::Status ForCaller(const auth::Principal& caller, absl::string_view full_method,
                              absl::Status status) {
  if (caller.kind != auth::Principal::Kind::kNode) return status;
  return federation::ForPartner(std::move(status), caller.subject, full_method);
}

// `service` is the full service name ("trenode.v1.Catalogue"), `method` the
// method's name; `call(principal)` returns absl::StatusOr<Reply>.
template <typename Reply, typename Call>
grpc::Status Handle(CallGate& gate, absl::string_view service, absl::string_view method,
                    grpc::ServerContext* context, Reply* reply, Call call) {
  const std::string full_method = absl::StrCat("/", service, "/", method);
  absl::StatusOr<auth::Principal> caller = gate.Admit(*context, full_method);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<Reply> result = call(*caller);
  if (!result.ok()) return ToGrpcStatus(ForCaller(*caller, full_method, result.status()));
  *reply = std::move(*result);
  return grpc::Status::OK;
}

// As Handle, with `check(principal)` run by the gate before it logs the
// admission (CallGate::RequestCheck): a request it refuses is refused as
// the gate's own refusals are, never logged as allowed.
template <typename Reply, typename Call>
grpc::Status HandleChecked(CallGate& gate, absl::string_view service, absl::string_view method,
                           grpc::ServerContext* context, Reply* reply,
                           const CallGate::RequestCheck& check, Call call) {
  const std::string full_method = absl::StrCat("/", service, "/", method);
  absl::StatusOr<auth::Principal> caller = gate.Admit(*context, full_method, check);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<Reply> result = call(*caller);
  if (!result.ok()) return ToGrpcStatus(ForCaller(*caller, full_method, result.status()));
  *reply = std::move(*result);
  return grpc::Status::OK;
}

// As Handle, for a client-streaming method: the caller also holds one of
// its stream slots (CallGate::AdmitStream) while `call` reads the stream.
template <typename Reply, typename Call>
grpc::Status HandleStreamed(CallGate& gate, absl::string_view service, absl::string_view method,
                            grpc::ServerContext* context, Reply* reply, Call call) {
  const std::string full_method = absl::StrCat("/", service, "/", method);
  absl::StatusOr<CallGate::AdmittedStream> admitted = gate.AdmitStream(*context, full_method);
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  absl::StatusOr<Reply> result = call(admitted->principal);
  if (!result.ok()) {
    return ToGrpcStatus(ForCaller(admitted->principal, full_method, result.status()));
  }
  *reply = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_HANDLE_H_
