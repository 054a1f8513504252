// Bounds the calls that hold a server thread for as long as their client
// likes: server streams (watching, reading the log, downloading) and client
// streams (importing, uploading). The synchronous server has a fixed pool of
// threads; each caller may hold a few streams and all callers together at
// most part of the pool, so that one caller opening hundreds of streams gets
// RESOURCE_EXHAUSTED and everyone else's unary calls still find a thread.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_STREAM_LIMITER_H_
#define TRENODE_NODE_RPC_STREAM_LIMITER_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace trenode::rpc {

class StreamLimiter {
 public:
  // A held stream; releases it when destroyed. Movable.
  class Slot {
   public:
    Slot() = default;
    Slot(StreamLimiter* limiter, std::string caller)
        : limiter_(limiter), caller_(std::move(caller)) {}
    Slot(Slot&& other) noexcept { *this = std::move(other); }
    Slot& operator=(Slot&& other) noexcept {
      Release();
      limiter_ = other.limiter_;
      caller_ = std::move(other.caller_);
      other.limiter_ = nullptr;
      return *this;
    }
    ~Slot() { Release(); }

   private:
    void Release();
    StreamLimiter* limiter_ = nullptr;
    std::string caller_;
  };

  StreamLimiter(int per_caller, int total) : per_caller_(per_caller), total_(total) {}

  // A slot for `caller` (a stable name of the authenticated caller), or
  // ResourceExhausted naming the limit it would pass.
  absl::StatusOr<Slot> Acquire(const std::string& caller);

  int open() const;

 private:
  const int per_caller_;
  const int total_;
  mutable absl::Mutex mu_;
  std::map<std::string, int> by_caller_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_STREAM_LIMITER_H_
