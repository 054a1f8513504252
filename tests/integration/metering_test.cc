// Metering on the real backends (spec/charging.md, "Metering"): a job that
// burns a known amount of CPU time, measured by the job itself, is metered
// within 20 % of it by the backend's own counters: the bubblewrap sandbox's
// cgroup, the cgroup Slurm made for the job's batch step, and the cloud job
// runner's (run by the AWS Batch fake with a cgroup for the job, by the
// Azure Batch fake from the processes it reaped). Nothing here is injected:
// the numbers come from the kernel through each backend. A job that forges
// usage files, or hides its CPU time in an orphan, is metered all the same.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "adapters/compute_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/cloud_batch_backends.h"
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

// What a job ran this way tries, to be charged less: it writes "nothing
// used" wherever a usage file might be looked for (the outbox, the runner's
// log directory, /tmp, next to its job directory), then burns as kBurn does.
constexpr char kForge[] =
    "import time\n"
    "for path in ['/job/outbox/usage', '/job/outbox/usage.slurm', '/job/usage',\n"
    "             '/job/usage.slurm', '/tmp/usage', '/tmp/trenode-runner/usage',\n"
    "             '/tmp/trenode-runner/usage.slurm']:\n"
    "    try:\n"
    "        with open(path, 'w') as f:\n"
    "            f.write('0 0 0 none\\n')\n"
    "    except OSError:\n"
    "        pass\n"
    "block = bytearray(64 << 20)\n"
    "while time.process_time() < 1.5:\n"
    "    pass\n"
    "print(int(time.process_time() * 1e6))\n";

// Hides its CPU time in an orphan: a grandchild (its parent exits at once,
// so no process of the job ever waits for it) burns 1.5 s and writes how
// much to the outbox, while the first process sleeps and exits.
constexpr char kOrphan[] =
    "import os, time\n"
    "if os.fork() == 0:\n"
    "    if os.fork() == 0:\n"
    "        while time.process_time() < 1.5:\n"
    "            pass\n"
    "        with open('/job/outbox/burned', 'w') as f:\n"
    "            f.write(str(int(time.process_time() * 1e6)))\n"
    "    os._exit(0)\n"
    "os.wait()\n"
    "while not os.path.exists('/job/outbox/burned'):\n"
    "    time.sleep(0.05)\n"
    "time.sleep(0.2)\n";

// The sources each backend is expected to meter with here.
template <typename Factory>
std::set<std::string> ExpectedSources();
template <>
std::set<std::string> ExpectedSources<testing::SandboxFactory>() {
  return {"cgroup-v1", "cgroup-v2"};
}
template <>
std::set<std::string> ExpectedSources<testing::SlurmFactory>() {
  return {"slurm-cgroup"};
}
template <>
std::set<std::string> ExpectedSources<testing::AwsBatchFactory>() {
  return {"job-runner-cgroup"};
}
template <>
std::set<std::string> ExpectedSources<testing::AzureBatchFactory>() {
  return {"job-runner-rusage"};
}

template <typename Factory>
class MeteringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (backend_ == nullptr) GTEST_SKIP() << "the backend could not be made (see the failure above)";
    std::filesystem::create_directories(dir_.File("code"));
  }

  JobStatus Run(const std::string& id, const char* script = kBurn) {
    JobSpec spec;
    spec.job_id = id;
    spec.code_dir = dir_.File("code");
    spec.command = {"/usr/bin/python3", "-c", script};
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

using RealBackends = ::testing::Types<testing::SandboxFactory, testing::SlurmFactory,
                                      testing::AwsBatchFactory, testing::AzureBatchFactory>;
TYPED_TEST_SUITE(MeteringTest, RealBackends);

TYPED_TEST(MeteringTest, CpuTimeOfABurningJobIsMeteredWithinTwentyPercent) {
  JobStatus status = this->Run("burn");
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  int64_t burned = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(status.stdout_text), &burned))
      << status.stdout_text;
  ASSERT_GE(burned, 1'500'000);
  EXPECT_TRUE(ExpectedSources<TypeParam>().contains(status.usage.metered_by))
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

std::string ReadOutput(const JobStatus& status, const std::string& name) {
  std::ifstream in(std::filesystem::path(status.outbox_dir) / name);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TYPED_TEST(MeteringTest, UsageFilesTheJobWritesAreIgnored) {
  JobStatus status = this->Run("forge", kForge);
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  // The forgery was made where the job could write, and came back as an
  // output like any other file.
  EXPECT_EQ(ReadOutput(status, "usage"), "0 0 0 none\n");
  int64_t burned = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(status.stdout_text), &burned))
      << status.stdout_text;
  EXPECT_TRUE(ExpectedSources<TypeParam>().contains(status.usage.metered_by))
      << status.usage.metered_by;
  std::cout << status.usage.metered_by << ": a forging job metered " << status.usage.cpu_micros
            << " us of CPU, " << burned << " us burned\n";
  EXPECT_NEAR(static_cast<double>(status.usage.cpu_micros), static_cast<double>(burned),
              0.2 * static_cast<double>(burned));
  EXPECT_GE(status.usage.peak_memory_bytes, int64_t{64} << 20);
}

TYPED_TEST(MeteringTest, CpuTimeOfAnOrphanIsMetered) {
  JobStatus status = this->Run("orphan", kOrphan);
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  int64_t burned = 0;
  ASSERT_TRUE(absl::SimpleAtoi(ReadOutput(status, "burned"), &burned));
  ASSERT_GE(burned, 1'500'000);
  EXPECT_TRUE(ExpectedSources<TypeParam>().contains(status.usage.metered_by))
      << status.usage.metered_by;
  std::cout << status.usage.metered_by << ": an orphan's job metered " << status.usage.cpu_micros
            << " us of CPU, " << burned << " us burned by the orphan\n";
  // At least what the orphan burned (the parents' start-up comes on top),
  // and not far above it.
  EXPECT_GE(status.usage.cpu_micros, burned);
  EXPECT_LE(static_cast<double>(status.usage.cpu_micros), 1.2 * static_cast<double>(burned) + 300'000);
}

// Cancelling is no way out of paying: a job that burns CPU until it is
// cancelled is charged what it burned, not metered "none". (How far it got
// cannot be seen from here on a cloud service, so it is given a few seconds
// of wall time and only required to have used some CPU.)
TYPED_TEST(MeteringTest, ACancelledJobIsChargedWhatItUsed) {
  JobSpec spec;
  spec.job_id = "cancelled";
  spec.code_dir = this->dir_.File("code");
  spec.command = {"/usr/bin/python3", "-c", "while True:\n    pass\n"};
  spec.limits.wall = absl::Seconds(120);
  spec.limits.memory_bytes = int64_t{1} << 30;
  ASSERT_TRUE(this->backend_->Submit(spec).ok());
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto status = this->backend_->Status("cancelled");
    ASSERT_TRUE(status.ok()) << status.status();
    if (status->state == JobState::kRunning) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Seconds(4));  // let it burn
  ASSERT_TRUE(this->backend_->Cancel("cancelled").ok());
  JobStatus status;
  deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    auto polled = this->backend_->Status("cancelled");
    ASSERT_TRUE(polled.ok()) << polled.status();
    status = *polled;
    if (IsFinished(status.state)) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(status.state, JobState::kCancelled) << status.reason;
  EXPECT_TRUE(ExpectedSources<TypeParam>().contains(status.usage.metered_by))
      << status.usage.metered_by;
  std::cout << status.usage.metered_by << ": a job cancelled after 4 s metered "
            << status.usage.cpu_micros << " us of CPU over " << status.usage.wall_micros
            << " us\n";
  EXPECT_GT(status.usage.cpu_micros, 100'000);
  EXPECT_GT(status.usage.wall_micros, 0);
}

}  // namespace
}  // namespace trenode::adapters
