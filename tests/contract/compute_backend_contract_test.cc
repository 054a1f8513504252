// The contract every ComputeBackend passes (adapters/compute_backend.h),
// run against the in-memory fake and the bubblewrap sandbox (and Slurm,
// when it is built). Jobs are shell scripts; the fake maps each script of
// this suite to the outcome the script has when really run.
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "adapters/compute_backend.h"
#include "adapters/memory/memory_compute_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/compute_backends.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters {
namespace {

constexpr char kWrite[] = "printf 'n\\n42\\n' > /job/outbox/result.csv; echo done";
constexpr char kFail[] = "echo oops >&2; exit 3";
constexpr char kSleep[] = "sleep 60";
constexpr char kCountRuns[] = "echo run >> /job/outbox/runs";

FakeOutcome FakeRun(const JobSpec& spec) {
  const std::string& script = spec.command.back();
  FakeOutcome outcome;
  if (script == kWrite) {
    outcome.outputs["result.csv"] = "n\n42\n";
    outcome.stdout_text = "done\n";
  } else if (script == kFail) {
    outcome.exit_code = 3;
    outcome.stderr_text = "oops\n";
  } else if (script == kSleep) {
    outcome.keep_running = true;
  } else if (script == kCountRuns) {
    outcome.outputs["runs"] = "run\n";
  }
  return outcome;
}

struct MemoryFactory {
  static std::unique_ptr<ComputeBackend> Make(const testing::TempDir& dir) {
    return std::make_unique<MemoryComputeBackend>(dir.File("outboxes"), &FakeRun);
  }
};

template <typename Factory>
class ComputeBackendContractTest : public ::testing::Test {
 protected:
  ComputeBackendContractTest() { std::filesystem::create_directories(dir_.File("code")); }

  JobSpec Job(const std::string& id, const std::string& script) {
    JobSpec spec;
    spec.job_id = id;
    spec.code_dir = dir_.File("code");
    spec.command = {"/bin/sh", "-c", script};
    spec.limits.wall = absl::Seconds(60);
    return spec;
  }

  JobStatus WaitForEnd(const std::string& id) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      auto status = backend_->Status(id);
      EXPECT_TRUE(status.ok()) << status.status();
      if (!status.ok() || IsFinished(status->state)) return status.value_or(JobStatus());
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return JobStatus();
  }

  static std::map<std::string, std::string> Outputs(const JobStatus& status) {
    std::map<std::string, std::string> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(status.outbox_dir, ec)) {
      files[entry.path().filename().string()] = testing::ReadFile(entry.path());
    }
    return files;
  }

  testing::TempDir dir_;
  std::unique_ptr<ComputeBackend> backend_ = Factory::Make(dir_);
};

using Factories = ::testing::Types<MemoryFactory, testing::SandboxFactory, testing::SlurmFactory>;
TYPED_TEST_SUITE(ComputeBackendContractTest, Factories);

TYPED_TEST(ComputeBackendContractTest, SucceededJobLeavesItsOutputsAndLogs) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("write", kWrite)).ok());
  JobStatus status = this->WaitForEnd("write");
  EXPECT_EQ(status.state, JobState::kSucceeded) << status.reason;
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_EQ(status.stdout_text, "done\n");
  EXPECT_EQ((this->Outputs(status)),
            (std::map<std::string, std::string>{{"result.csv", "n\n42\n"}}));
}

TYPED_TEST(ComputeBackendContractTest, FailedJobReportsItsExitCodeAndKeepsNoOutputs) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("fail", kFail)).ok());
  JobStatus status = this->WaitForEnd("fail");
  EXPECT_EQ(status.state, JobState::kFailed);
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_EQ(status.reason, "exited with status 3");
  EXPECT_EQ(status.stderr_text, "oops\n");
  EXPECT_TRUE(this->Outputs(status).empty());
}

TYPED_TEST(ComputeBackendContractTest, ResubmittingAnIdNeverRunsItTwice) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("once", kCountRuns)).ok());
  this->WaitForEnd("once");
  ASSERT_TRUE(this->backend_->Submit(this->Job("once", kCountRuns)).ok());
  JobStatus status = this->WaitForEnd("once");
  EXPECT_EQ(this->Outputs(status)["runs"], "run\n");
}

TYPED_TEST(ComputeBackendContractTest, CancelStopsARunningJobAndDiscardsOutputs) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("long", kSleep)).ok());
  auto running = this->backend_->Status("long");
  ASSERT_TRUE(running.ok());
  EXPECT_FALSE(IsFinished(running->state));
  EXPECT_EQ(this->backend_->Remove("long").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(this->backend_->Cancel("long").ok());
  JobStatus status = this->WaitForEnd("long");
  EXPECT_EQ(status.state, JobState::kCancelled);
  EXPECT_TRUE(this->Outputs(status).empty());
  EXPECT_TRUE(this->backend_->Cancel("long").ok());  // already ended: nothing to do
}

TYPED_TEST(ComputeBackendContractTest, UnknownIdsAndBadSpecsAreRefused) {
  EXPECT_EQ(this->backend_->Status("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->backend_->Cancel("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->backend_->Remove("nope").code(), absl::StatusCode::kNotFound);
  JobSpec bad = this->Job("Bad/Id", kWrite);
  EXPECT_EQ(this->backend_->Submit(bad).code(), absl::StatusCode::kInvalidArgument);
  JobSpec relative = this->Job("relative", kWrite);
  relative.code_dir = "code";
  EXPECT_EQ(this->backend_->Submit(relative).code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(ComputeBackendContractTest, RemoveForgetsAnEndedJob) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("gone", kWrite)).ok());
  JobStatus status = this->WaitForEnd("gone");
  ASSERT_TRUE(this->backend_->Remove("gone").ok());
  EXPECT_EQ(this->backend_->Status("gone").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(status.outbox_dir));
}

}  // namespace
}  // namespace trenode::adapters
