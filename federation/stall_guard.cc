#include "federation/stall_guard.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace trenode::federation {

StallGuard::StallGuard(std::function<void()> cancel) : cancel_(std::move(cancel)) {
  watcher_ = std::thread([this] { Watch(); });
}

StallGuard::~StallGuard() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  watcher_.join();
}

StallGuard::Step::~Step() {
  if (guard_ != nullptr) guard_->End(id_);
}

StallGuard::Step StallGuard::Begin(std::string what, absl::Duration limit) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  running_[id] = Running{std::move(what), limit, absl::Now() + limit};
  ++changes_;
  return Step(this, id);
}

void StallGuard::End(uint64_t id) {
  absl::MutexLock lock(&mu_);
  running_.erase(id);
  ++changes_;
}

std::optional<std::string> StallGuard::Stalled() {
  absl::MutexLock lock(&mu_);
  return stalled_;
}

void StallGuard::Watch() {
  {
    absl::MutexLock lock(&mu_);
    while (true) {
      if (stopping_) return;
      const uint64_t seen = changes_;
      auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || changes_ != seen;
      };
      if (running_.empty()) {
        mu_.Await(absl::Condition(&changed));
        continue;
      }
      auto first = running_.begin();
      for (auto it = running_.begin(); it != running_.end(); ++it) {
        if (it->second.deadline < first->second.deadline) first = it;
      }
      if (absl::Now() < first->second.deadline) {
        mu_.AwaitWithDeadline(absl::Condition(&changed), first->second.deadline);
        continue;
      }
      stalled_ = absl::StrCat(first->second.what, " (allowed ",
                              absl::FormatDuration(first->second.limit), ")");
      break;
    }
  }
  // Once is enough: the stream is ending.
  cancel_();
}

}  // namespace trenode::federation
