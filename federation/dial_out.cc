#include "federation/dial_out.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "federation/stall_guard.h"
#include "node/common/text.h"
#include "trenode/v1/federation.grpc.pb.h"

namespace trenode::federation {
namespace {
constexpr int kMaxServing = 16;
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMostBackoff = absl::Seconds(5);
// After the partner refused the stream (not listed there as dialling in,
// or this node not its partner): a configuration to be fixed, not a blip.
constexpr absl::Duration kAfterRefusal = absl::Seconds(30);
}  // namespace

void DialOut::Start() {
  for (const trenode::v1::Partner& partner : partners_->All()) {
    threads_.emplace_back([this, id = partner.node_id()] { Attend(id); });
  }
}

void DialOut::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, context] : open_) context->TryCancel();
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

bool DialOut::Connected(const std::string& partner_id) {
  absl::MutexLock lock(&mu_);
  return open_.contains(partner_id);
}

void DialOut::SetTimeouts(StreamTimeouts timeouts) {
  absl::MutexLock lock(&mu_);
  timeouts_ = timeouts;
}

StreamTimeouts DialOut::Timeouts() {
  absl::MutexLock lock(&mu_);
  return timeouts_;
}

void DialOut::Attend(const std::string& partner_id) {
  absl::Duration backoff = kFirstBackoff;
  while (!stop_.HasBeenNotified()) {
    std::optional<trenode::v1::Partner> partner = partners_->Find(partner_id);
    if (!partner) return;  // removed: no longer served
    absl::Time began = absl::Now();
    absl::Status ended = AttendOnce(*partner);
    if (absl::Now() - began > absl::Seconds(10)) backoff = kFirstBackoff;
    if (stop_.HasBeenNotified()) return;
    std::cerr << absl::StrCat("trenode: stream to partner ", partner_id, " ended (",
                              PrintableText(ended.message(), 200), "); dialling again soon\n");
    const bool refused = absl::IsFailedPrecondition(ended) || absl::IsPermissionDenied(ended) ||
                         absl::IsUnauthenticated(ended);
    stop_.WaitForNotificationWithTimeout(refused ? kAfterRefusal : backoff);
    backoff = std::min(backoff * 2, kMostBackoff);
  }
}

absl::Status DialOut::AttendOnce(const trenode::v1::Partner& partner) {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stop_.HasBeenNotified()) return absl::CancelledError("stopping");
    open_[partner.node_id()] = &context;
  }
  auto forget = [&] {
    absl::MutexLock lock(&mu_);
    open_.erase(partner.node_id());
  };
  // A step the partner holds up too long cancels the stream, so that it
  // ends and is dialled again. Declared after `context`, so it stops first.
  StallGuard guard([&context] { context.TryCancel(); });
  auto stalled = [&](absl::string_view what) {
    return absl::UnavailableError(absl::StrCat("partner ", partner.node_id(), " held up ", what,
                                               "; the stream was ended to dial it again"));
  };
  auto stub = trenode::v1::Federation::NewStub(channels_->ChannelTo(partner));
  std::unique_ptr<grpc::ClientReaderWriter<trenode::v1::AttendUp, trenode::v1::RelayedCall>>
      stream = stub->Attend(&context);
  {
    StallGuard::Step step = guard.Begin("the stream's opening", Timeouts().open);
    stream->WaitForInitialMetadata();
  }
  if (std::optional<std::string> what = guard.Stalled()) {
    stream->Finish().ok();
    forget();
    return stalled(*what);
  }
  // Only the partner dialled is served: its certificate must name it.
  if (absl::Status peer = GrpcPartnerCaller::CheckPeer(context, partner); !peer.ok()) {
    context.TryCancel();
    stream->Finish().ok();
    forget();
    return peer;
  }
  // Shared with the threads answering calls, which may finish their last
  // unlock after this scope has seen them done.
  struct Shared {
    absl::Mutex write_mu;
    absl::Mutex serving_mu;
    int serving = 0;
  };
  auto shared = std::make_shared<Shared>();
  auto* raw_stream = stream.get();
  // Every write, timed from when it holds the stream (not while it queues
  // behind another).
  auto write = [this, shared, raw_stream, guard = &guard](const trenode::v1::AttendUp& up,
                                                          const char* what) {
    absl::MutexLock write_lock(&shared->write_mu);
    StallGuard::Step step = guard->Begin(what, Timeouts().write);
    return raw_stream->Write(up);
  };
  trenode::v1::AttendUp hello;
  hello.mutable_hello();
  if (!write(hello, "writing the stream's hello")) {
    grpc::Status status = stream->Finish();
    forget();
    if (std::optional<std::string> what = guard.Stalled()) return stalled(*what);
    return absl::UnavailableError(status.error_message());
  }
  trenode::v1::RelayedCall call;
  while (stream->Read(&call)) {
    {
      absl::MutexLock lock(&shared->serving_mu);
      if (shared->serving < kMaxServing) {
        ++shared->serving;
        // Detached; this scope waits below until every one has written.
        const absl::Time until = absl::Now() + absl::Milliseconds(call.deadline_ms());
        std::thread([this, shared, write, call, until, id = partner.node_id()] {
          trenode::v1::AttendUp up;
          if (absl::Now() < until) {
            *up.mutable_reply() = serve_(id, call);
          } else {
            // The partner has stopped waiting: nothing is started for it.
            up.mutable_reply()->set_id(call.id());
            up.mutable_reply()->set_code(static_cast<int>(absl::StatusCode::kDeadlineExceeded));
            up.mutable_reply()->set_message("the call's deadline passed before it was answered");
          }
          write(up, "writing a reply");
          absl::MutexLock done(&shared->serving_mu);
          --shared->serving;
        }).detach();
        continue;
      }
    }
    trenode::v1::AttendUp busy;
    busy.mutable_reply()->set_id(call.id());
    busy.mutable_reply()->set_code(static_cast<int>(absl::StatusCode::kResourceExhausted));
    busy.mutable_reply()->set_message(
        absl::StrCat(kMaxServing, " calls from this partner are being answered; try again"));
    write(busy, "writing a reply");
  }
  {
    absl::MutexLock lock(&shared->serving_mu);
    auto idle = [&shared]() { return shared->serving == 0; };
    shared->serving_mu.Await(absl::Condition(&idle));
  }
  {
    absl::MutexLock lock(&shared->write_mu);
    StallGuard::Step step = guard.Begin("closing the stream", Timeouts().write);
    stream->WritesDone();
  }
  grpc::Status status = stream->Finish();
  forget();
  if (std::optional<std::string> what = guard.Stalled()) return stalled(*what);
  return status.ok() ? absl::UnavailableError("the partner closed the stream")
                     : absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                    status.error_message());
}

}  // namespace trenode::federation
