#include "federation/stall_guard.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace trenode::federation {
namespace {

TEST(StallGuardTest, AStepPastItsLimitCancelsOnceAndIsNamed) {
  absl::Notification cancelled;
  std::atomic<int> cancels = 0;
  StallGuard guard([&] {
    ++cancels;
    cancelled.Notify();
  });
  // A step that ends in time is forgotten; one still running past its limit
  // is what stalled, whichever began first.
  { StallGuard::Step quick = guard.Begin("a quick write", absl::Hours(1)); }
  StallGuard::Step patient = guard.Begin("a patient write", absl::Hours(1));
  StallGuard::Step stuck = guard.Begin("writing a reply", absl::Milliseconds(1));
  ASSERT_TRUE(cancelled.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(guard.Stalled(), "writing a reply (allowed 1ms)");
  StallGuard::Step later = guard.Begin("another write", absl::Milliseconds(1));
  EXPECT_EQ(cancels.load(), 1);
}

TEST(StallGuardTest, StepsThatEndInTimeNeverCancel) {
  bool cancelled = false;
  {
    StallGuard guard([&] { cancelled = true; });
    for (int i = 0; i < 100; ++i) StallGuard::Step step = guard.Begin("a write", absl::Hours(1));
    StallGuard::Step running = guard.Begin("a read", absl::Hours(1));
    EXPECT_EQ(guard.Stalled(), std::nullopt);
  }
  EXPECT_FALSE(cancelled);
}

}  // namespace
}  // namespace trenode::federation
