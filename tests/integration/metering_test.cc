// Metering on the real backends (spec/charging.md, "Metering"): a job that
// burns a known amount of CPU time, measured by the job itself, is metered
// within 20 % of it by the backend's own counters, the bubblewrap sandbox's
// cgroup and the cgroup Slurm made for the job's batch step. Nothing here
// is injected: the numbers come from the kernel through each backend.
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "adapters/compute_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/compute_backends.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters {
namespace {

// Burns 1.5 s of its own CPU time (process_time counts this process only),
// holds 64 MiB, and says how much CPU time it used in microseconds.
constexpr char kBurn[] =
    "import time\n"
    "block = bytearray(64 << 20)\n"
    "while time.process_time() < 1.5:\n"
    "    pass\n"
    "print(int(time.process_time() * 1e6))\n";

template <typename Factory>
class MeteringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (backend_ == nullptr) GTEST_SKIP() << "the backend could not be made (see the failure above)";
    std::filesystem::create_directories(dir_.File("code"));
  }

  JobStatus Run(const std::string& id) {
    JobSpec spec;
    spec.job_id = id;
    spec.code_dir = dir_.File("code");
    spec.command = {"/usr/bin/python3", "-c", kBurn};
    spec.limits.wall = absl::Seconds(120);
    spec.limits.memory_bytes = int64_t{1} << 30;
    EXPECT_TRUE(backend_->Submit(spec).ok());
    absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (absl::Now() < deadline) {
      auto status = backend_->Status(id);
      EXPECT_TRUE(status.ok()) << status.status();
      if (!status.ok() || IsFinished(status->state)) return status.value_or(JobStatus());
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return JobStatus();
  }

  testing::TempDir dir_;
  std::unique_ptr<ComputeBackend> backend_ = Factory::Make(dir_);
};

using RealBackends = ::testing::Types<testing::SandboxFactory, testing::SlurmFactory>;
TYPED_TEST_SUITE(MeteringTest, RealBackends);

TYPED_TEST(MeteringTest, CpuTimeOfABurningJobIsMeteredWithinTwentyPercent) {
  JobStatus status = this->Run("burn");
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  int64_t burned = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(status.stdout_text), &burned))
      << status.stdout_text;
  ASSERT_GE(burned, 1'500'000);
  EXPECT_TRUE((std::set<std::string>{"cgroup-v1", "cgroup-v2", "slurm-cgroup"})
                  .contains(status.usage.metered_by))
      << status.usage.metered_by;
  std::cout << status.usage.metered_by << ": metered " << status.usage.cpu_micros << " us of CPU, "
            << burned << " us burned as the job measured it; peak "
            << status.usage.peak_memory_bytes << " bytes\n";
  // The interpreter's start-up is the job's too: it is metered, and counted
  // within the tolerance.
  EXPECT_NEAR(static_cast<double>(status.usage.cpu_micros), static_cast<double>(burned),
              0.2 * static_cast<double>(burned));
  EXPECT_GT(status.usage.wall_micros, 0);
  EXPECT_GE(status.usage.peak_memory_bytes, int64_t{64} << 20);

  // The metering outlives the node's memory of the job: it is read back
  // from the job's directory.
  auto again = this->backend_->Status("burn");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->usage.cpu_micros, status.usage.cpu_micros);
  EXPECT_EQ(again->usage.metered_by, status.usage.metered_by);
}

}  // namespace
}  // namespace trenode::adapters
