#include "node/rpc/stream_limiter.h"

#include "absl/strings/str_cat.h"

namespace trenode::rpc {

absl::StatusOr<StreamLimiter::Slot> StreamLimiter::Acquire(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  int& held = by_caller_[caller];
  if (held >= per_caller_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(caller, " has ", held, " streams open, the most one caller may hold at this "
                                            "node; close one and try again"));
  }
  if (open_ >= total_) {
    if (held == 0) by_caller_.erase(caller);
    return absl::ResourceExhaustedError(absl::StrCat(
        "the node is serving ", open_, " streams, its most at once; try again shortly"));
  }
  ++held;
  ++open_;
  return Slot(this, caller);
}

void StreamLimiter::Slot::Release() {
  if (limiter_ == nullptr) return;
  absl::MutexLock lock(&limiter_->mu_);
  auto found = limiter_->by_caller_.find(caller_);
  if (found != limiter_->by_caller_.end() && --found->second == 0) {
    limiter_->by_caller_.erase(found);
  }
  --limiter_->open_;
  limiter_ = nullptr;
}

int StreamLimiter::open() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

}  // namespace trenode::rpc
