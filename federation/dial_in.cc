#include "federation/dial_in.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace trenode::federation {
namespace {
// Calls queued for one partner at most; more are refused as busy.
constexpr size_t kMaxQueued = 256;
}  // namespace

std::optional<trenode::v1::RelayedCall> DialIns::Stream::Next(absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !open_ || !outbox_.empty(); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
  if (!open_ || outbox_.empty()) return std::nullopt;
  auto [call, until] = std::move(outbox_.front());
  outbox_.pop_front();
  call.set_deadline_ms(std::max<int64_t>(1, absl::ToInt64Milliseconds(until - absl::Now())));
  return call;
}

void DialIns::Stream::Deliver(const trenode::v1::RelayedReply& reply) {
  absl::MutexLock lock(&mu_);
  auto pending = pending_.find(reply.id());
  if (pending == pending_.end()) return;
  pending->second->reply = reply;
  pending->second->done = true;
  pending_.erase(pending);
}

bool DialIns::Stream::open() {
  absl::MutexLock lock(&mu_);
  return open_;
}

absl::Status DialIns::MayOpen(const std::string& node_id) const {
  std::optional<trenode::v1::Partner> partner = partners_->Find(node_id);
  if (!partner || !partner->dials_in()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", node_id, " is not listed as a partner that dials in (federation.partners[]"
        ".dials_in); this node dials it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<DialIns::Stream>> DialIns::Open(const std::string& node_id,
                                                                std::function<void()> cancel) {
  if (absl::Status may = MayOpen(node_id); !may.ok()) return may;
  auto stream = std::make_shared<Stream>();
  {
    absl::MutexLock lock(&stream->cancel_mu_);
    stream->cancel_ = std::move(cancel);
  }
  std::shared_ptr<Stream> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::exchange(streams_[node_id], stream);
  }
  if (old) Close(node_id, old);
  return stream;
}

void DialIns::Close(const std::string& node_id, const std::shared_ptr<Stream>& stream) {
  {
    absl::MutexLock lock(&mu_);
    auto found = streams_.find(node_id);
    if (found != streams_.end() && found->second == stream) streams_.erase(found);
  }
  {
    absl::MutexLock lock(&stream->mu_);
    stream->open_ = false;
    for (auto& [id, pending] : stream->pending_) {
      pending->reply.set_code(static_cast<int>(absl::StatusCode::kUnavailable));
      pending->reply.set_message(absl::StrCat("the stream from node ", node_id, " ended"));
      pending->done = true;
    }
    stream->pending_.clear();
    stream->outbox_.clear();
  }
  // Called with cancel_mu_ held: a Close racing this one (the handler's own,
  // seeing the stream closed) waits here until the call has returned.
  absl::MutexLock lock(&stream->cancel_mu_);
  if (std::function<void()> cancel = std::exchange(stream->cancel_, nullptr)) cancel();
}

void DialIns::SetWriteTimeout(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  write_timeout_ = timeout;
}

absl::Duration DialIns::WriteTimeout() {
  absl::MutexLock lock(&mu_);
  return write_timeout_;
}

void DialIns::CloseAll() {
  std::map<std::string, std::shared_ptr<Stream>> all;
  {
    absl::MutexLock lock(&mu_);
    all = streams_;
  }
  for (const auto& [node_id, stream] : all) Close(node_id, stream);
}

void DialIns::CloseUnlisted() {
  std::map<std::string, std::shared_ptr<Stream>> all;
  {
    absl::MutexLock lock(&mu_);
    all = streams_;
  }
  for (const auto& [node_id, stream] : all) {
    std::optional<trenode::v1::Partner> partner = partners_->Find(node_id);
    if (!partner || !partner->dials_in()) Close(node_id, stream);
  }
}

bool DialIns::IsOpen(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  return streams_.contains(node_id);
}

absl::StatusOr<std::string> DialIns::Call(const std::string& node_id, const std::string& method,
                                          const std::string& request, absl::Duration deadline) {
  std::shared_ptr<Stream> stream;
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    auto found = streams_.find(node_id);
    if (found == streams_.end()) {
      return absl::UnavailableError(absl::StrCat(
          "node ", node_id, " dials in and has no stream open to this node now"));
    }
    stream = found->second;
    id = next_id_++;
  }
  auto pending = std::make_shared<Stream::Pending>();
  {
    absl::MutexLock lock(&stream->mu_);
    if (!stream->open_) {
      return absl::UnavailableError(absl::StrCat("the stream from node ", node_id, " ended"));
    }
    if (stream->outbox_.size() >= kMaxQueued) {
      return absl::ResourceExhaustedError(
          absl::StrCat(kMaxQueued, " calls to node ", node_id, " are waiting to be sent"));
    }
    trenode::v1::RelayedCall call;
    call.set_id(id);
    call.set_method(method);
    call.set_request(request);
    call.set_deadline_ms(absl::ToInt64Milliseconds(deadline));
    stream->outbox_.emplace_back(std::move(call), absl::Now() + deadline);
    stream->pending_[id] = pending;
    auto done = [&pending]() { return pending->done; };
    // `pending` is guarded by the stream's mutex, held while waiting.
    stream->mu_.AwaitWithTimeout(absl::Condition(&done), deadline);
    if (!pending->done) {
      stream->pending_.erase(id);
      std::erase_if(stream->outbox_, [id](const auto& queued) { return queued.first.id() == id; });
      return absl::DeadlineExceededError(
          absl::StrCat("node ", node_id, " did not answer ", method, " in time"));
    }
  }
  const trenode::v1::RelayedReply& reply = pending->reply;
  if (reply.code() != 0) {
    int code = reply.code();
    if (code < 0 || code > 16) code = static_cast<int>(absl::StatusCode::kUnknown);
    return absl::Status(static_cast<absl::StatusCode>(code), reply.message());
  }
  return reply.response();
}

}  // namespace trenode::federation
