// The contract every ComputeBackend passes (adapters/compute_backend.h), as
// a typed test suite each implementation's test instantiates with a factory
// (a struct with `static std::unique_ptr<ComputeBackend> Make(const
// testing::TempDir&)`, nullptr with a test failure if the backend cannot be
// made):
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, ComputeBackendContractTest, ::testing::Types<MyFactory>);
// Jobs are shell scripts (the in-memory fake maps each script of this suite
// to the outcome the script has when really run).
#ifndef TRENODE_TESTS_CONTRACT_COMPUTE_BACKEND_CONTRACT_H_
#define TRENODE_TESTS_CONTRACT_COMPUTE_BACKEND_CONTRACT_H_

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "adapters/compute_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters {

inline constexpr char kWrite[] = "printf 'n\\n42\\n' > /job/outbox/result.csv; echo done";
inline constexpr char kFail[] = "echo oops >&2; exit 3";
inline constexpr char kSleep[] = "sleep 60";
inline constexpr char kCountRuns[] = "echo run >> /job/outbox/runs";

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

  void SetUp() override {
    if (backend_ == nullptr) GTEST_SKIP() << "the backend could not be made (see the failure above)";
  }

  testing::TempDir dir_;
  std::unique_ptr<ComputeBackend> backend_ = Factory::Make(dir_);
};

TYPED_TEST_SUITE_P(ComputeBackendContractTest);

TYPED_TEST_P(ComputeBackendContractTest, SucceededJobLeavesItsOutputsAndLogs) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("write", kWrite)).ok());
  JobStatus status = this->WaitForEnd("write");
  EXPECT_EQ(status.state, JobState::kSucceeded) << status.reason;
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_EQ(status.stdout_text, "done\n");
  EXPECT_EQ((this->Outputs(status)),
            (std::map<std::string, std::string>{{"result.csv", "n\n42\n"}}));
}

TYPED_TEST_P(ComputeBackendContractTest, FailedJobReportsItsExitCodeAndKeepsNoOutputs) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("fail", kFail)).ok());
  JobStatus status = this->WaitForEnd("fail");
  EXPECT_EQ(status.state, JobState::kFailed);
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_EQ(status.reason, "exited with status 3");
  EXPECT_EQ(status.stderr_text, "oops\n");
  EXPECT_TRUE(this->Outputs(status).empty());
}

TYPED_TEST_P(ComputeBackendContractTest, ResubmittingAnIdNeverRunsItTwice) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("once", kCountRuns)).ok());
  this->WaitForEnd("once");
  ASSERT_TRUE(this->backend_->Submit(this->Job("once", kCountRuns)).ok());
  JobStatus status = this->WaitForEnd("once");
  EXPECT_EQ(this->Outputs(status)["runs"], "run\n");
}

TYPED_TEST_P(ComputeBackendContractTest, CancelStopsARunningJobAndDiscardsOutputs) {
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

TYPED_TEST_P(ComputeBackendContractTest, UnknownIdsAndBadSpecsAreRefused) {
  EXPECT_EQ(this->backend_->Status("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->backend_->Cancel("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->backend_->Remove("nope").code(), absl::StatusCode::kNotFound);
  JobSpec bad = this->Job("Bad/Id", kWrite);
  EXPECT_EQ(this->backend_->Submit(bad).code(), absl::StatusCode::kInvalidArgument);
  JobSpec relative = this->Job("relative", kWrite);
  relative.code_dir = "code";
  EXPECT_EQ(this->backend_->Submit(relative).code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(ComputeBackendContractTest, RemoveForgetsAnEndedJob) {
  ASSERT_TRUE(this->backend_->Submit(this->Job("gone", kWrite)).ok());
  JobStatus status = this->WaitForEnd("gone");
  ASSERT_TRUE(this->backend_->Remove("gone").ok());
  EXPECT_EQ(this->backend_->Status("gone").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(status.outbox_dir));
}

REGISTER_TYPED_TEST_SUITE_P(ComputeBackendContractTest, SucceededJobLeavesItsOutputsAndLogs, FailedJobReportsItsExitCodeAndKeepsNoOutputs, ResubmittingAnIdNeverRunsItTwice, CancelStopsARunningJobAndDiscardsOutputs, UnknownIdsAndBadSpecsAreRefused, RemoveForgetsAnEndedJob);

}  // namespace trenode::adapters

#endif  // TRENODE_TESTS_CONTRACT_COMPUTE_BACKEND_CONTRACT_H_
