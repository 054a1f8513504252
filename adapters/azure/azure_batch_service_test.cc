// AzureBatchService against tests/emulators/fake_azure_batch.py, which checks
// each request's Shared Key signature and api-version with code of its own
// and runs each task's runner as a container would. The runner here is a
// stand-in shell script that sleeps for $SLEEP_SECONDS and exits with
// $EXIT_STATUS, so that the task's phase and exit code can be checked.
#include "adapters/azure/azure_batch_service.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/fake_azure_batch.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters::azure {
namespace {

using cloud::BatchJob;
using cloud::BatchPhase;
using cloud::BatchSubmission;
using ::testing::HasSubstr;
using testing::FakeAzureBatch;

constexpr char kRunner[] =
    "#!/bin/sh\n"
    "if [ -n \"$SLEEP_SECONDS\" ]; then sleep \"$SLEEP_SECONDS\"; fi\n"
    "exit \"${EXIT_STATUS:-0}\"\n";

class AzureBatchServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string runner = dir_.File("runner.sh");
    testing::WriteFile(runner, kRunner);
    ASSERT_EQ(::chmod(runner.c_str(), 0755), 0);
    auto fake = FakeAzureBatch::Start(runner);
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = std::move(*fake);
  }

  AzureBatchOptions Options() const {
    AzureBatchOptions options;
    options.account_name = FakeAzureBatch::kAccount;
    options.account_key = FakeAzureBatch::kKey;
    options.endpoint = fake_->endpoint();
    options.job_id = "trenode-jobs";
    options.pool_id = "trenode-pool";
    options.image = "registry.example/trenode-runner:1";
    options.retry.max_attempts = 4;
    options.retry.first_delay = absl::Milliseconds(10);
    options.retry.max_delay = absl::Milliseconds(50);
    return options;
  }

  std::unique_ptr<AzureBatchService> Open() {
    auto service = AzureBatchService::Open(Options());
    EXPECT_TRUE(service.ok()) << service.status();
    return service.ok() ? std::move(*service) : nullptr;
  }

  static BatchSubmission Job(const std::string& name, int exit_status, int sleep_seconds = 0) {
    BatchSubmission submission;
    submission.name = name;
    submission.environment = {{"EXIT_STATUS", absl::StrCat(exit_status)}};
    if (sleep_seconds > 0) {
      submission.environment.push_back({"SLEEP_SECONDS", absl::StrCat(sleep_seconds)});
    }
    submission.timeout = absl::Minutes(10);
    return submission;
  }

  // Describes `id` until `done` holds for its answer, or 30 seconds pass.
  BatchJob PollUntil(AzureBatchService& service, const std::string& id,
                     const std::function<bool(const BatchJob&)>& done) {
    BatchJob job;
    for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;) {
      absl::StatusOr<BatchJob> described = service.Describe(id);
      EXPECT_TRUE(described.ok()) << described.status();
      if (!described.ok()) break;
      job = *described;
      if (done(job)) return job;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "task " << id << " did not get there; fake's log:\n" << fake_->Log();
    return job;
  }

  static bool Ended(const BatchJob& job) {
    return job.phase == BatchPhase::kSucceeded || job.phase == BatchPhase::kFailed;
  }

  testing::TempDir dir_;
  std::unique_ptr<FakeAzureBatch> fake_;
};

TEST_F(AzureBatchServiceTest, WrongKeyIsRefusedClearly) {
  AzureBatchOptions options = Options();
  options.account_key = "d3Jvbmcga2V5IGZvciB0aGUgYmF0Y2ggYWNjb3VudA==";
  auto service = AzureBatchService::Open(options);
  EXPECT_EQ(service.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(service.status().message(), HasSubstr("AuthenticationFailed"));
  EXPECT_THAT(service.status().message(), HasSubstr("key was refused"));
  EXPECT_GE(fake_->counters()->refused, 1);
}

TEST_F(AzureBatchServiceTest, TheRightKeyIsAccepted) {
  ASSERT_NE(Open(), nullptr);
  EXPECT_EQ(fake_->counters()->refused, 0);
}

TEST_F(AzureBatchServiceTest, BadOptionsAreRefused) {
  AzureBatchOptions plain = Options();
  plain.endpoint = "http://trebatch.westeurope.batch.azure.com";
  EXPECT_EQ(AzureBatchService::Open(plain).status().code(), absl::StatusCode::kInvalidArgument);
  AzureBatchOptions not_base64 = Options();
  not_base64.account_key = "not base64!";
  EXPECT_EQ(AzureBatchService::Open(not_base64).status().code(),
            absl::StatusCode::kInvalidArgument);
  AzureBatchOptions no_image = Options();
  no_image.image.clear();
  EXPECT_EQ(AzureBatchService::Open(no_image).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AzureBatchServiceTest, AnExistingJobIsUsedAndOneOnAnotherPoolRefused) {
  ASSERT_NE(Open(), nullptr);
  ASSERT_NE(Open(), nullptr);  // 409 JobExists, then Get Job: the same pool
  AzureBatchOptions other_pool = Options();
  other_pool.pool_id = "another-pool";
  auto service = AzureBatchService::Open(other_pool);
  EXPECT_EQ(service.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(service.status().message(), HasSubstr("trenode-pool"));
}

TEST_F(AzureBatchServiceTest, ThrottlingIsRetried) {
  auto service = Open();
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(fake_->Throttle(3).ok());
  auto id = service->Submit(Job("job-throttled", 0));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(fake_->counters()->throttled, 3);
  EXPECT_TRUE(PollUntil(*service, *id, Ended).phase == BatchPhase::kSucceeded);
}

TEST_F(AzureBatchServiceTest, ThrottlingBeyondTheRetriesIsUnavailable) {
  auto service = Open();
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(fake_->Throttle(100).ok());
  auto described = service->Describe("job-any");
  EXPECT_EQ(described.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(described.status().message(), HasSubstr("ServerBusy"));
  EXPECT_EQ(fake_->counters()->throttled, Options().retry.max_attempts);
}

TEST_F(AzureBatchServiceTest, SubmittingTheSameNameTwiceIsAlreadyExists) {
  auto service = Open();
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Submit(Job("job-twice", 0)).ok());
  auto again = service->Submit(Job("job-twice", 0));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("TaskExists"));
}

TEST_F(AzureBatchServiceTest, FindReturnsTheIdOfASubmittedJob) {
  auto service = Open();
  ASSERT_NE(service, nullptr);
  auto id = service->Submit(Job("job-found", 0));
  ASSERT_TRUE(id.ok()) << id.status();
  auto found = service->Find("job-found");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, *id);
  EXPECT_EQ(service->Find("job-never-submitted").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AzureBatchServiceTest, ATaskEndsWithItsRunnersExitStatus) {
  auto service = Open();
  ASSERT_NE(service, nullptr);
  auto ok = service->Submit(Job("job-ok", 0));
  auto failed = service->Submit(Job("job-failed", 3));
  ASSERT_TRUE(ok.ok() && failed.ok()) << ok.status() << failed.status();

  BatchJob succeeded = PollUntil(*service, *ok, Ended);
  EXPECT_EQ(succeeded.phase, BatchPhase::kSucceeded) << succeeded.reason;
  EXPECT_EQ(succeeded.exit_code, 0);
  BatchJob failure = PollUntil(*service, *failed, Ended);
  EXPECT_EQ(failure.phase, BatchPhase::kFailed);
  EXPECT_EQ(failure.exit_code, 3);
  EXPECT_THAT(failure.reason, HasSubstr("FailureExitCode"));
}

TEST_F(AzureBatchServiceTest, TerminateEndsARunningTask) {
  auto service = Open();
  ASSERT_NE(service, nullptr);
  auto id = service->Submit(Job("job-long", 0, 300));
  ASSERT_TRUE(id.ok()) << id.status();
  PollUntil(*service, *id, [](const BatchJob& job) { return job.phase == BatchPhase::kRunning; });
  ASSERT_TRUE(service->Terminate(*id).ok());
  BatchJob ended = PollUntil(*service, *id, Ended);
  EXPECT_EQ(ended.phase, BatchPhase::kFailed);
  EXPECT_THAT(ended.reason, HasSubstr("TaskEnded"));
  EXPECT_TRUE(service->Terminate(*id).ok()) << "409 TaskCompleted is OK";
  EXPECT_EQ(service->Terminate("job-unknown").code(), absl::StatusCode::kNotFound);
}

TEST_F(AzureBatchServiceTest, DeleteThenDescribeIsNotFound) {
  auto service = Open();
  ASSERT_NE(service, nullptr);
  auto id = service->Submit(Job("job-deleted", 0));
  ASSERT_TRUE(id.ok()) << id.status();
  PollUntil(*service, *id, Ended);
  ASSERT_TRUE(service->Delete(*id).ok());
  auto described = service->Describe(*id);
  EXPECT_EQ(described.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(described.status().message(), HasSubstr("TaskNotFound"));
  EXPECT_TRUE(service->Delete(*id).ok()) << "an unknown id is OK";
}

}  // namespace
}  // namespace trenode::adapters::azure
