#include "node/web/bounded_workers.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace trenode::web {
namespace {

// With every worker busy and the queue full, Enqueue waits until a task is
// taken: a flood stays outside the process.
TEST(BoundedWorkersTest, EnqueueWaitsWhileTheQueueIsFull) {
  BoundedWorkers workers(/*threads=*/1, /*max_queued=*/2);
  absl::Notification release;
  std::atomic<int> ran{0};
  workers.Enqueue([&] {
    release.WaitForNotification();
    ++ran;
  });
  absl::SleepFor(absl::Milliseconds(50));  // the worker takes the first
  workers.Enqueue([&] { ++ran; });
  workers.Enqueue([&] { ++ran; });
  std::atomic<bool> fourth_queued{false};
  std::thread flood([&] {
    workers.Enqueue([&] { ++ran; });
    fourth_queued = true;
  });
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(fourth_queued) << "queued past the bound";
  release.Notify();
  flood.join();
  EXPECT_TRUE(fourth_queued);
  workers.Shutdown();
  EXPECT_EQ(ran, 4);  // every queued task ran before the workers stopped
}

TEST(BoundedWorkersTest, AfterShutdownATaskRunsOnTheCaller) {
  BoundedWorkers workers(2, 4);
  workers.Shutdown();
  bool ran = false;
  workers.Enqueue([&] { ran = true; });
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace trenode::web
