// Cloud batch compute beyond the ComputeBackend contract: what the job can
// and cannot reach (credentials, the runner's URLs, its datasets and code),
// its limits, what stays in the store, and the failures the backend must
// survive (a refused key, throttling, a lost answer, a staged file changed in
// the bucket). The same tests run on AWS Batch and Azure Batch where both
// fakes can show them; the AWS fake also holds jobs in its queue on request.
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "adapters/cloud/digest.h"
#include "gtest/gtest.h"
#include "tests/testutil/cloud_batch_backends.h"

namespace trenode::adapters::cloud {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

struct Aws {
  static void Make(const TempDir& dir, std::unique_ptr<ObjectStore>* store,
                   std::unique_ptr<BatchComputeBackend>* backend) {
    testing::AwsBatchSetup setup = testing::MakeAwsBatchSetup(dir);
    *store = std::move(setup.store);
    *backend = std::move(setup.backend);
  }
};

struct Azure {
  static void Make(const TempDir& dir, std::unique_ptr<ObjectStore>* store,
                   std::unique_ptr<BatchComputeBackend>* backend) {
    testing::AzureBatchSetup setup = testing::MakeAzureBatchSetup(dir);
    *store = std::move(setup.store);
    *backend = std::move(setup.backend);
  }
};

class BatchJobs {
 public:
  explicit BatchJobs(const TempDir& dir) : dir_(dir) {
    fs::create_directories(dir_.File("code"));
  }

  JobSpec Job(const std::string& id, const std::string& script) const {
    JobSpec spec;
    spec.job_id = id;
    spec.code_dir = dir_.File("code");
    spec.command = {"/bin/sh", "-c", script};
    spec.limits.wall = absl::Seconds(60);
    return spec;
  }

  static JobStatus WaitForEnd(ComputeBackend& backend, const std::string& id) {
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      auto status = backend.Status(id);
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
    for (const auto& entry : fs::directory_iterator(status.outbox_dir, ec)) {
      files[entry.path().filename().string()] = testing::ReadFile(entry.path());
    }
    return files;
  }

 private:
  const TempDir& dir_;
};

template <typename Cloud>
class BatchComputeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Cloud::Make(dir_, &store_, &backend_);
    ASSERT_NE(backend_, nullptr);
  }

  TempDir dir_;
  BatchJobs jobs_{dir_};
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<BatchComputeBackend> backend_;
};

using Clouds = ::testing::Types<Aws, Azure>;
TYPED_TEST_SUITE(BatchComputeTest, Clouds);

// The hostile job looks for anything that would let it reach the store or
// the service on its own: credentials in its environment, the runner's
// manifest URL or a presigned URL in any process it can read (the patterns
// are bracketed so that they do not match the job's own command line).
TYPED_TEST(BatchComputeTest, TheJobHoldsNoCredentialsAndRunsUnprivileged) {
  ASSERT_TRUE(this->backend_
                  ->Submit(this->jobs_.Job(
                      "snoop",
                      "id -u > /job/outbox/uid; env > /job/outbox/env; "
                      "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' "
                      "| grep -c -e 'TRENODE_JOB_MANIFEST_UR[L]' -e 'X-Amz-Signatur[e]' -e '[&?]si[g]=' "
                      "> /job/outbox/seen; "
                      "true"))
                  .ok());
  JobStatus status = BatchJobs::WaitForEnd(*this->backend_, "snoop");
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  auto outputs = BatchJobs::Outputs(status);
  EXPECT_EQ(outputs["uid"], "65534\n");
  EXPECT_EQ(outputs["seen"], "0\n");
  for (const char* secret : {"AWS", "AZURE", "TRENODE", "http", "KEY", "TOKEN"}) {
    EXPECT_FALSE(absl::StrContains(outputs["env"], secret)) << outputs["env"];
  }
}

// The container shares the platform's network; the job must not: every
// socket but a Unix one is refused, and nothing of the runner's (its open
// connections to the store) is inherited.
TYPED_TEST(BatchComputeTest, TheJobHasNoNetworkAndInheritsNoDescriptors) {
  ASSERT_TRUE(this->backend_
                  ->Submit(this->jobs_.Job(
                      "offline",
                      "python3 -c 'import socket; socket.socket(socket.AF_INET, "
                      "socket.SOCK_STREAM)' 2> /job/outbox/inet && echo open > /job/outbox/net; "
                      "python3 -c 'import socket; socket.socket(socket.AF_INET6, "
                      "socket.SOCK_DGRAM)' 2>/dev/null && echo open >> /job/outbox/net; "
                      "ls /proc/self/fd > /job/outbox/fds; "
                      "grep NoNewPrivs /proc/self/status > /job/outbox/nnp; true"))
                  .ok());
  JobStatus status = BatchJobs::WaitForEnd(*this->backend_, "offline");
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  auto outputs = BatchJobs::Outputs(status);
  EXPECT_EQ(outputs.count("net"), 0u) << outputs["net"];
  EXPECT_TRUE(absl::StrContains(outputs["inet"], "Address family not supported")) << outputs["inet"];
  EXPECT_EQ(outputs["fds"], "0\n1\n2\n3\n");  // ls's own directory is the 3
  EXPECT_EQ(outputs["nnp"], "NoNewPrivs:\t1\n");
}

// The outbox comes back as the job left it, whatever the names.
TYPED_TEST(BatchComputeTest, OutputNamesComeBackExactly) {
  ASSERT_TRUE(this->backend_
                  ->Submit(this->jobs_.Job("names",
                                           "echo A > /job/outbox/r.tmp; echo B > /job/outbox/r; "
                                           "printf x > \"/job/outbox/$(printf '\\377')\"; echo ok"))
                  .ok());
  JobStatus status = BatchJobs::WaitForEnd(*this->backend_, "names");
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason;
  EXPECT_EQ(status.stdout_text, "ok\n");
  auto outputs = BatchJobs::Outputs(status);
  EXPECT_EQ(outputs, (std::map<std::string, std::string>{
                         {"r", "B\n"}, {"r.tmp", "A\n"}, {"\xff", "x"}}));
}

TYPED_TEST(BatchComputeTest, DatasetsAndCodeAreReadOnlyAndExactlyTheNodesBytes) {
  const std::string dataset = this->dir_.File("cohort.sqlite");
  testing::WriteFile(dataset, std::string(300000, 'd') + "the end");
  testing::WriteFile(this->dir_.File("code/lib/helper.sh"), "echo helped\n");
  JobSpec spec = this->jobs_.Job(
      "reads",
      "sha256sum /data/cohort.sqlite | cut -c1-64 > /job/outbox/sum; sh lib/helper.sh > "
      "/job/outbox/helper; (echo x >> /data/cohort.sqlite) 2>/dev/null && echo data >> "
      "/job/outbox/writable; (echo x > /job/code/new) 2>/dev/null && echo code >> "
      "/job/outbox/writable; true");
  spec.datasets.push_back({"cohort", dataset});
  ASSERT_TRUE(this->backend_->Submit(spec).ok());
  JobStatus status = BatchJobs::WaitForEnd(*this->backend_, "reads");
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  auto outputs = BatchJobs::Outputs(status);
  EXPECT_EQ(outputs["sum"], Hex(Sha256(testing::ReadFile(dataset))) + "\n");
  EXPECT_EQ(outputs["helper"], "helped\n");
  EXPECT_EQ(outputs.count("writable"), 0u) << outputs["writable"];
}

TYPED_TEST(BatchComputeTest, TheWallClockLimitEndsTheJob) {
  JobSpec spec = this->jobs_.Job("slow", "echo started; sleep 30");
  spec.limits.wall = absl::Seconds(2);
  ASSERT_TRUE(this->backend_->Submit(spec).ok());
  JobStatus status = BatchJobs::WaitForEnd(*this->backend_, "slow");
  EXPECT_EQ(status.state, JobState::kFailed);
  EXPECT_EQ(status.failure, JobFailure::kWallLimit) << status.reason;
  EXPECT_EQ(status.stdout_text, "started\n");
}

TYPED_TEST(BatchComputeTest, AnOutboxOverItsLimitsIsNotReturned) {
  JobSpec spec = this->jobs_.Job("many", "touch /job/outbox/a /job/outbox/b");
  spec.limits.output_files = 1;
  ASSERT_TRUE(this->backend_->Submit(spec).ok());
  JobStatus status = BatchJobs::WaitForEnd(*this->backend_, "many");
  EXPECT_EQ(status.failure, JobFailure::kOutputLimit) << status.reason;
  EXPECT_TRUE(BatchJobs::Outputs(status).empty());

  JobSpec link = this->jobs_.Job("link", "ln -s /etc/passwd /job/outbox/passwd");
  ASSERT_TRUE(this->backend_->Submit(link).ok());
  status = BatchJobs::WaitForEnd(*this->backend_, "link");
  EXPECT_EQ(status.failure, JobFailure::kOutputLimit) << status.reason;
  EXPECT_TRUE(absl::StrContains(status.reason, "not a regular file")) << status.reason;
}

TYPED_TEST(BatchComputeTest, NothingStaysInTheStoreOnceTheJobIsJudged) {
  ASSERT_TRUE(this->backend_->Submit(this->jobs_.Job("tidy", "echo 1 > /job/outbox/x")).ok());
  auto staged = this->store_->List("batch-jobs/tidy/");
  ASSERT_TRUE(staged.ok());
  EXPECT_FALSE(staged->empty());
  JobStatus status = BatchJobs::WaitForEnd(*this->backend_, "tidy");
  EXPECT_EQ(status.state, JobState::kSucceeded) << status.reason;
  staged = this->store_->List("batch-jobs/");
  ASSERT_TRUE(staged.ok());
  EXPECT_TRUE(staged->empty());
}

// Azure mounts a VM's Batch directories (with shared/, writable by every
// task) into a container unless told not to: a job of one project must not
// leave anything there for a later job.
TEST(AzureBatchIsolationTest, NothingPassesBetweenJobsThroughTheBatchNode) {
  TempDir dir;
  testing::AzureBatchSetup setup = testing::MakeAzureBatchSetup(dir);
  ASSERT_NE(setup.backend, nullptr);
  BatchJobs jobs(dir);
  ASSERT_TRUE(setup.backend
                  ->Submit(jobs.Job("drop", "for d in /mnt/batch/tasks/shared /mnt/*/*/shared; do "
                                            "echo leak > $d/x 2>/dev/null; done; true"))
                  .ok());
  EXPECT_EQ(BatchJobs::WaitForEnd(*setup.backend, "drop").state, JobState::kSucceeded);
  ASSERT_TRUE(setup.backend
                  ->Submit(jobs.Job("pick", "cat /mnt/batch/tasks/shared/x /mnt/*/*/shared/x "
                                            "> /job/outbox/got 2>/dev/null; true"))
                  .ok());
  JobStatus picked = BatchJobs::WaitForEnd(*setup.backend, "pick");
  ASSERT_EQ(picked.state, JobState::kSucceeded) << picked.reason;
  EXPECT_EQ(BatchJobs::Outputs(picked)["got"], "");
}

// On AWS alone: the fake AWS Batch can hold jobs in its queue.
class AwsBatchComputeTest : public BatchComputeTest<Aws> {
 protected:
  void TearDown() override { (void)testing::AwsBatchFake::Get()->Control(R"({"hold": false})"); }
  testing::AwsBatchFake* fake_ = testing::AwsBatchFake::Get();
};

TEST_F(AwsBatchComputeTest, AStagedFileChangedInTheBucketIsRefusedByTheRunner) {
  ASSERT_TRUE(fake_->Control(R"({"hold": true})").ok());
  testing::WriteFile(dir_.File("code/analysis.sh"), "echo honest > /job/outbox/out\n");
  ASSERT_TRUE(backend_->Submit(jobs_.Job("swap", "sh analysis.sh")).ok());
  ASSERT_TRUE(
      WriteObject(*store_, "batch-jobs/swap/code/0", "echo swapped > /job/outbox/out\n").ok());
  ASSERT_TRUE(fake_->Control(R"({"hold": false})").ok());
  JobStatus status = BatchJobs::WaitForEnd(*backend_, "swap");
  EXPECT_EQ(status.state, JobState::kFailed);
  EXPECT_EQ(status.failure, JobFailure::kBackend);
  EXPECT_TRUE(absl::StrContains(status.reason, "not what the node staged")) << status.reason;
  EXPECT_TRUE(BatchJobs::Outputs(status).empty());
}

TEST_F(AwsBatchComputeTest, ALostSubmitAnswerIsFoundByNameNotSubmittedAgain) {
  ASSERT_TRUE(fake_->Control(R"({"hold": true})").ok());
  ASSERT_TRUE(backend_->Submit(jobs_.Job("lost", "echo run >> /job/outbox/runs")).ok());
  const int64_t submitted = fake_->Counter("submitted").value_or(-1);
  // As if the node stopped before recording the service's answer.
  fs::remove(dir_.File("jobs/lost/service-id"));
  ASSERT_TRUE(fake_->Control(R"({"hold": false})").ok());
  JobStatus status = BatchJobs::WaitForEnd(*backend_, "lost");
  EXPECT_EQ(status.state, JobState::kSucceeded) << status.reason;
  EXPECT_EQ(BatchJobs::Outputs(status)["runs"], "run\n");
  EXPECT_EQ(fake_->Counter("submitted").value_or(-1), submitted);
}

// SubmitJob has no idempotency token: a submission whose answer is lost is
// never sent again, the job is found by name and runs once.
TEST_F(AwsBatchComputeTest, ASubmissionWhoseAnswerIsLostRunsOnce) {
  const int64_t submitted = fake_->Counter("submitted").value_or(-1);
  ASSERT_TRUE(fake_->Control(R"({"drop_answer": 1})").ok());
  absl::Status accepted = backend_->Submit(jobs_.Job("dropped", "echo run >> /job/outbox/runs"));
  EXPECT_TRUE(accepted.ok() || accepted.code() == absl::StatusCode::kUnavailable) << accepted;
  JobStatus status = BatchJobs::WaitForEnd(*backend_, "dropped");
  EXPECT_EQ(status.state, JobState::kSucceeded) << status.reason;
  EXPECT_EQ(BatchJobs::Outputs(status)["runs"], "run\n");
  EXPECT_EQ(fake_->Counter("submitted").value_or(-1), submitted + 1);
}

TEST_F(AwsBatchComputeTest, ThrottlingIsRetried) {
  ASSERT_TRUE(fake_->Control(R"({"throttle": 3})").ok());
  const int64_t throttled = fake_->Counter("throttled").value_or(-1);
  ASSERT_TRUE(backend_->Submit(jobs_.Job("busy", "echo 1 > /job/outbox/x")).ok());
  EXPECT_EQ(BatchJobs::WaitForEnd(*backend_, "busy").state, JobState::kSucceeded);
  EXPECT_EQ(fake_->Counter("throttled").value_or(-1), throttled + 3);
}

TEST_F(AwsBatchComputeTest, ARestartedNodeFollowsItsJobs) {
  ASSERT_TRUE(backend_->Submit(jobs_.Job("outlives", "sleep 1; echo 1 > /job/outbox/x")).ok());
  auto service = aws::AwsBatchService::Open(
      fake_->Options("us-east-1"),
      aws::StaticCredentials({testing::S3Emulator::kAccessKey, testing::S3Emulator::kSecret, ""}));
  ASSERT_TRUE(service.ok());
  auto* signer = dynamic_cast<ObjectUrlSigner*>(store_.get());
  BatchBackendOptions options;
  options.work_root = dir_.File("jobs");
  auto restarted =
      BatchComputeBackend::Create(options, *std::move(service), store_.get(), signer);
  ASSERT_NE(signer, nullptr);
  ASSERT_TRUE(restarted.ok());
  backend_.reset();
  JobStatus status = BatchJobs::WaitForEnd(**restarted, "outlives");
  EXPECT_EQ(status.state, JobState::kSucceeded) << status.reason;
  EXPECT_EQ(BatchJobs::Outputs(status)["x"], "1\n");
}

TEST_F(AwsBatchComputeTest, ARefusedKeyLeavesNothingAndSaysSo) {
  auto service = aws::AwsBatchService::Open(
      fake_->Options("us-east-1"),
      aws::StaticCredentials({testing::S3Emulator::kAccessKey, "not-the-secret", ""}));
  ASSERT_TRUE(service.ok());
  BatchBackendOptions options;
  options.work_root = dir_.File("refused-jobs");
  auto refused = BatchComputeBackend::Create(options, *std::move(service), store_.get(),
                                             dynamic_cast<ObjectUrlSigner*>(store_.get()));
  ASSERT_TRUE(refused.ok());
  absl::Status submitted = (*refused)->Submit(jobs_.Job("denied", "true"));
  EXPECT_EQ(submitted.code(), absl::StatusCode::kPermissionDenied) << submitted;
  EXPECT_TRUE(absl::StrContains(submitted.message(), "refused")) << submitted;
  EXPECT_EQ((*refused)->Status("denied").status().code(), absl::StatusCode::kNotFound);
  auto staged = store_->List("batch-jobs/");
  ASSERT_TRUE(staged.ok());
  EXPECT_TRUE(staged->empty());
}

}  // namespace
}  // namespace trenode::adapters::cloud
