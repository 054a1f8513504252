#include "node/web/bounded_workers.h"

#include <utility>

namespace trenode::web {

BoundedWorkers::BoundedWorkers(size_t threads, size_t max_queued)
    : max_queued_(max_queued == 0 ? 1 : max_queued) {
  for (size_t i = 0; i < (threads == 0 ? 1 : threads); ++i) {
    threads_.emplace_back([this] { Work(); });
  }
}

BoundedWorkers::~BoundedWorkers() { Shutdown(); }

void BoundedWorkers::Enqueue(std::function<void()> task) {
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](BoundedWorkers* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
          return self->stopping_ || self->queued_.size() < self->max_queued_;
        },
        this));
    if (!stopping_) {
      queued_.push_back(std::move(task));
      return;
    }
  }
  task();  // stopping: nothing is left unrun (a connection unclosed)
}

void BoundedWorkers::Work() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BoundedWorkers* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queued_.empty();
          },
          this));
      if (queued_.empty()) return;  // stopping, and nothing left
      task = std::move(queued_.front());
      queued_.pop_front();
    }
    task();
  }
}

void BoundedWorkers::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace trenode::web
