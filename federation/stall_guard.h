// StallGuard: ends a stream whose blocking steps take too long. gRPC's
// synchronous streams have no deadline per step (waiting for the peer's
// first metadata, writing a message the peer does not take), and a stream
// deadline would end a healthy long-lived stream too; so each such step is
// timed, and one still running past its limit has `cancel` called (once,
// from the guard's own thread), which makes the blocked step return.
// Thread-safe: steps may run on several threads at once. The guard must
// not outlive what `cancel` touches; destroying it stops its thread.
#ifndef TRENODE_FEDERATION_STALL_GUARD_H_
#define TRENODE_FEDERATION_STALL_GUARD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace trenode::federation {

class StallGuard {
 public:
  explicit StallGuard(std::function<void()> cancel);
  ~StallGuard();
  StallGuard(const StallGuard&) = delete;
  StallGuard& operator=(const StallGuard&) = delete;

  // One timed step: from Begin until this is destroyed.
  class Step {
   public:
    Step(Step&& other) noexcept : guard_(std::exchange(other.guard_, nullptr)), id_(other.id_) {}
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;
    Step& operator=(Step&&) = delete;
    ~Step();

   private:
    friend class StallGuard;
    Step(StallGuard* guard, uint64_t id) : guard_(guard), id_(id) {}
    StallGuard* guard_;
    uint64_t id_;
  };

  // Starts timing `what` ("writing a reply"), which may take `limit`.
  Step Begin(std::string what, absl::Duration limit);

  // What stalled and how long it was allowed ("writing a reply (allowed
  // 30s)"), once `cancel` has been called; nullopt before.
  std::optional<std::string> Stalled();

 private:
  struct Running {
    std::string what;
    absl::Duration limit;
    absl::Time deadline;
  };
  void Watch();
  void End(uint64_t id);

  std::function<void()> cancel_;
  absl::Mutex mu_;
  std::map<uint64_t, Running> running_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped by every Begin and End, so the watcher wakes to look again.
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<std::string> stalled_ ABSL_GUARDED_BY(mu_);
  std::thread watcher_;
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_STALL_GUARD_H_
