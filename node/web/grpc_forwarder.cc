#include "node/web/grpc_forwarder.h"

#include <vector>

#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "node/rpc/authenticator.h"

namespace trenode::web {
namespace {

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool ToString(const grpc::ByteBuffer& buffer, std::string* out) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  out->clear();
  for (const grpc::Slice& slice : slices) {
    out->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return true;
}

}  // namespace

void GrpcForwarder::Prepare(grpc::ClientContext& context, const CallerHeaders& caller) const {
  if (caller.authorization) context.AddMetadata("authorization", *caller.authorization);
  if (caller.role) context.AddMetadata(rpc::NodeAuthenticator::kRoleHeader, *caller.role);
  forwarded_->Mark(context, caller.client_address);
}

grpc::Status GrpcForwarder::Unary(const std::string& method, const std::string& request,
                                  const CallerHeaders& caller, absl::Time deadline,
                                  std::string* reply) const {
  grpc::ClientContext context;
  Prepare(context, caller);
  context.set_deadline(absl::ToChronoTime(deadline));
  grpc::GenericStub stub(channel_);
  // The reply is taken on this thread, from a queue of the call's own: no
  // hand-over from one of gRPC's threads.
  grpc::CompletionQueue queue;
  grpc::ByteBuffer request_buffer = ToBuffer(request);
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::ByteBuffer>> call =
      stub.PrepareUnaryCall(&context, method, request_buffer, &queue);
  call->StartCall();
  grpc::ByteBuffer reply_buffer;
  grpc::Status status;
  int tag = 0;
  call->Finish(&reply_buffer, &status, &tag);
  void* got = nullptr;
  bool ok = false;
  queue.Next(&got, &ok);
  queue.Shutdown();
  while (queue.Next(&got, &ok)) {
  }
  if (status.ok() && !ToString(reply_buffer, reply)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "the node's reply could not be read");
  }
  return status;
}

grpc::Status GrpcForwarder::ServerStream(const std::string& method, const std::string& request,
                                         const CallerHeaders& caller,
                                         std::optional<absl::Time> deadline,
                                         const std::function<bool(const std::string&)>& on_reply,
                                         const std::function<bool()>& cancelled,
                                         absl::Duration poll) const {
  grpc::ClientContext context;
  Prepare(context, caller);
  if (deadline) context.set_deadline(absl::ToChronoTime(*deadline));
  grpc::CompletionQueue queue;
  grpc::GenericStub stub(channel_);
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &queue);
  bool gave_up = false;
  // Waits for the one operation in flight; cancels the call (once) when
  // `cancelled` says so, and keeps waiting for the operation to end.
  auto wait = [&]() -> bool {
    void* tag = nullptr;
    bool ok = false;
    while (true) {
      auto next = queue.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + poll));
      if (next == grpc::CompletionQueue::GOT_EVENT) return ok;
      if (next == grpc::CompletionQueue::SHUTDOWN) return false;
      if (!gave_up && cancelled()) {
        gave_up = true;
        context.TryCancel();
      }
    }
  };
  int tag = 0;
  call->StartCall(&tag);
  bool open = wait();
  if (open) {
    grpc::ByteBuffer request_buffer = ToBuffer(request);
    call->WriteLast(request_buffer, grpc::WriteOptions(), &tag);
    open = wait();
  }
  grpc::ByteBuffer reply_buffer;
  std::string reply;
  while (open) {
    call->Read(&reply_buffer, &tag);
    if (!wait()) break;
    if (!ToString(reply_buffer, &reply) || !on_reply(reply)) {
      if (!gave_up) {
        gave_up = true;
        context.TryCancel();
      }
    }
  }
  grpc::Status status;
  call->Finish(&status, &tag);
  wait();
  queue.Shutdown();
  void* ignored_tag;
  bool ignored_ok;
  while (queue.Next(&ignored_tag, &ignored_ok)) {
  }
  return status;
}

}  // namespace trenode::web
