// A fixed set of threads running tasks from a queue of bounded length.
// Enqueue waits while the queue is full, so that a flood of work (an HTTP
// server's accepted connections) waits in the kernel's listen backlog
// instead of piling up in the process, each queued connection holding a
// descriptor the node's gRPC server, SQLite and activity log also need.
// Thread-safe.
#ifndef TRENODE_NODE_WEB_BOUNDED_WORKERS_H_
#define TRENODE_NODE_WEB_BOUNDED_WORKERS_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace trenode::web {

class BoundedWorkers {
 public:
  BoundedWorkers(size_t threads, size_t max_queued);
  // Shutdown.
  ~BoundedWorkers();
  BoundedWorkers(const BoundedWorkers&) = delete;
  BoundedWorkers& operator=(const BoundedWorkers&) = delete;

  // Queues `task` for a worker, waiting while `max_queued` tasks wait.
  // After Shutdown it runs `task` on the caller's thread instead.
  void Enqueue(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // Lets the workers finish every queued task, then stops and joins them.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Work() ABSL_LOCKS_EXCLUDED(mu_);

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queued_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace trenode::web

#endif  // TRENODE_NODE_WEB_BOUNDED_WORKERS_H_
