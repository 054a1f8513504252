// Nodes whose object store is in the cloud: S3 (s3rver behind the
// signature-checking proxy) and Azure Blob Storage (Azurite). Datasets, job
// outputs, review copies and released files all live in the bucket or
// container; the node imports a dataset there, answers an aggregate query
// from a checked local copy, and releases its output end to end.
#include <cstdlib>

#include "absl/strings/match.h"
#include "adapters/aws/s3_object_store.h"
#include "adapters/azure/azure_blob_object_store.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil/releases_fixture.h"
#include "tests/testutil/azurite.h"
#include "tests/testutil/s3_emulator.h"
#include "tests/testutil/cloud_batch_backends.h"

namespace trenode {
namespace {

// Prices CPU on a cloud batch backend's row at 1 GBP a CPU-second.
void PriceCpu(trenode::v1::NodeConfig& config, const std::string& backend) {
  config.mutable_charging()->set_currency("GBP");
  trenode::v1::PriceTable* row = config.mutable_charging()->add_prices();
  row->set_backend(backend);
  row->set_cpu_hour("3600");
}

// The job was metered by the job runner and its CPU charged by the
// backend's price row.
void ExpectChargedFromTheRunner(const trenode::v1::Analysis& analysis, const std::string& backend,
                                const std::string& metered_by) {
  EXPECT_EQ(analysis.usage().backend(), backend);
  EXPECT_EQ(analysis.usage().metered_by(), metered_by);
  EXPECT_GT(analysis.usage().cpu_micros(), 0);
  EXPECT_GT(analysis.usage().wall_micros(), 0);
  EXPECT_GT(analysis.usage().peak_memory_bytes(), 0);
  int64_t cpu_micros_charged = -1;
  for (const trenode::v1::CostLine& line : analysis.cost().lines()) {
    if (line.item() == "cpu") cpu_micros_charged = line.micros();
  }
  // 1 GBP a CPU-second: one micro-unit a CPU-microsecond, rounded.
  EXPECT_NEAR(static_cast<double>(cpu_micros_charged),
              static_cast<double>(analysis.usage().cpu_micros()), 1.0)
      << analysis.cost().ShortDebugString();
}

using testing::S3Emulator;
using trenode::v1::Release;

class S3NodeTest : public testing::ReleasesFixture {
 protected:
  static void SetUpTestSuite() {
    S3Emulator* emulator = S3Emulator::Get();
    ASSERT_NE(emulator, nullptr);
    // The node finds its credentials as the AWS SDKs do: here, the environment.
    ::setenv("AWS_ACCESS_KEY_ID", S3Emulator::kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", S3Emulator::kSecret, 1);
    also_configure = [emulator](trenode::v1::NodeConfig& config) {
      auto options = emulator->NewBucket();
      ASSERT_TRUE(options.ok()) << options.status();
      auto* s3 = config.mutable_object_store()->mutable_s3();
      s3->set_bucket(options->bucket);
      s3->set_region(options->region);
      s3->set_endpoint(options->endpoint);
      s3->set_path_style(true);
      s3->set_key_prefix("site-a/");
      bucket_ = options->bucket;
    };
  }
  static void TearDownTestSuite() { also_configure = nullptr; }

  // The bucket as the node's own credentials see it, without the prefix.
  std::unique_ptr<adapters::aws::S3ObjectStore> Bucket() {
    adapters::aws::S3Options options;
    options.bucket = bucket_;
    options.endpoint = S3Emulator::Get()->endpoint();
    options.path_style = true;
    return *adapters::aws::S3ObjectStore::Open(
        options, adapters::aws::StaticCredentials({S3Emulator::kAccessKey, S3Emulator::kSecret, ""}));
  }
  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> keys;
    auto bucket = Bucket();
    auto listed = bucket->List(prefix);
    EXPECT_TRUE(listed.ok()) << listed.status();
    if (listed.ok()) {
      for (const auto& info : *listed) keys.push_back(info.key);
    }
    return keys;
  }

  static inline std::string bucket_;
};

TEST_F(S3NodeTest, ImportsQueriesAndReleasesWithEverythingInTheBucket) {
  EXPECT_FALSE(node_.config().object_store().has_posix());
  // The import put the dataset's file in the bucket, under the node's prefix.
  std::vector<std::string> datasets = Keys("site-a/datasets/synth-ehr-4/");
  ASSERT_EQ(datasets.size(), 1u) << ::testing::PrintToString(Keys(""));

  Release draft, submitted, reply;
  ASSERT_TRUE(Create(CountsAnalysis("cloud-q1"), &draft).ok());
  ASSERT_TRUE(Submit(draft.id(), &submitted).ok());
  ASSERT_TRUE(Review(submitted, "olu", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_TRUE(Review(submitted, "kim", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED) << reply.state_reason();
  std::string bytes;
  ASSERT_TRUE(Download(reply, "ada", "researcher", &bytes).ok());
  EXPECT_TRUE(absl::StartsWith(bytes, "age_band,sex,count\n")) << bytes;
  // The released copy is in the bucket's egress area, byte for byte.
  auto egress = adapters::ReadObject(
      *Bucket(), absl::StrCat("site-a/egress/", reply.id(), "/", reply.files(0).name()));
  ASSERT_TRUE(egress.ok()) << egress.status() << " " << ::testing::PrintToString(Keys("site-a/egress/"));
  EXPECT_EQ(*egress, bytes);
  // The query read a local copy, checked against the hash the catalogue keeps.
  std::filesystem::path cache = std::filesystem::path(node_.config().work_dir()) / "dataset-cache";
  int copies = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cache)) {
    EXPECT_EQ(entry.path().extension(), ".copy") << entry.path();
    ++copies;
  }
  EXPECT_EQ(copies, 1);

  // Someone who can write to the bucket replaces the released file: the
  // node sends nothing rather than bytes nobody reviewed.
  ASSERT_TRUE(adapters::WriteObject(*Bucket(),
                                    absl::StrCat("site-a/egress/", reply.id(), "/",
                                                 reply.files(0).name()),
                                    "age_band,sex,count\n0-10,F,1\n")
                  .ok());
  std::string swapped;
  grpc::Status refused = Download(reply, "ada", "researcher", &swapped);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::DATA_LOSS) << refused.error_message();
  EXPECT_EQ(swapped, "");

  // The file gone from the bucket: the researcher learns that the store
  // failed, not the bucket, its layout or S3's words.
  ASSERT_TRUE(Bucket()
                  ->Delete(absl::StrCat("site-a/egress/", reply.id(), "/", reply.files(0).name()))
                  .ok());
  grpc::Status missing = Download(reply, "ada", "researcher", &swapped);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND) << missing.error_message();
  EXPECT_TRUE(absl::StrContains(missing.error_message(), "the node's log has the detail"))
      << missing.error_message();
  for (const std::string& secret : {bucket_, std::string("site-a"), std::string("NoSuchKey"),
                                    std::string("s3"), std::string("egress")}) {
    EXPECT_FALSE(absl::StrContains(missing.error_message(), secret)) << missing.error_message();
  }
}

TEST_F(S3NodeTest, ADatasetChangedInTheBucketIsNotQueried) {
  std::vector<std::string> datasets = Keys("site-a/datasets/synth-ehr-4/");
  ASSERT_EQ(datasets.size(), 1u);
  // Someone with access to the bucket swaps the dataset's bytes.
  ASSERT_TRUE(adapters::WriteObject(*Bucket(), datasets[0], "not the dataset").ok());
  std::string id = CountsAnalysis("tampered", trenode::v1::ANALYSIS_STATE_FAILED);
  // The node's staff learn why; the researcher only that it failed.
  trenode::v1::Analysis failed = WaitForAnalysis(id, trenode::v1::ANALYSIS_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(failed.failure_detail(), "it was changed in the object store"))
      << failed.failure_detail();
  trenode::v1::GetAnalysisRequest get;
  get.set_analysis_id(id);
  trenode::v1::Analysis seen;
  ASSERT_TRUE(analyses_->GetAnalysis(As("ada", "researcher").get(), get, &seen).ok());
  EXPECT_EQ(seen.state_reason(), "the query could not be run; the node's staff have the details");
  EXPECT_EQ(seen.failure_detail(), "");
}

// Someone who can write to the bucket swaps an approved script bundle for
// another: the swapped code never runs.
TEST_F(S3NodeTest, ABundleSwappedInTheBucketDoesNotRun) {
  std::string approved = UploadBundle("echo 'n=200' > /job/outbox/out.txt", {"out.txt"});
  std::string other = UploadBundle("cat /data/synth-ehr-4.sqlite > /job/outbox/out.txt", {"out.txt"});
  auto bucket = Bucket();
  auto swapped = adapters::ReadObject(*bucket, absl::StrCat("site-a/bundles/", other, ".tar.gz"));
  ASSERT_TRUE(swapped.ok()) << swapped.status() << ::testing::PrintToString(Keys("site-a/"));
  ASSERT_TRUE(
      adapters::WriteObject(*bucket, absl::StrCat("site-a/bundles/", approved, ".tar.gz"), *swapped)
          .ok());
  trenode::v1::SubmitAnalysisRequest request;
  request.set_project_id(testing::kProject);
  request.set_request_id("swapped-bundle");
  request.mutable_script()->set_bundle_sha256(approved);
  trenode::v1::Analysis analysis;
  ASSERT_TRUE(analyses_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis).ok());
  trenode::v1::AnalysisDecisionRequest decision;
  decision.set_analysis_id(analysis.id());
  ASSERT_TRUE(
      analyses_->ApproveAnalysis(As("sam", "data_steward").get(), decision, &analysis).ok());
  trenode::v1::Analysis failed = WaitForAnalysis(analysis.id(), trenode::v1::ANALYSIS_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(failed.failure_detail(), "is not the approved bundle"))
      << failed.failure_detail() << " / " << failed.state_reason();
}

// Script jobs on AWS Batch (the fake service, running the real job runner),
// staged in the node's bucket: the job's output is released end to end and
// nothing of the job stays in the bucket.
class S3BatchNodeTest : public S3NodeTest {
 protected:
  static void SetUpTestSuite() {
    S3NodeTest::SetUpTestSuite();
    testing::AwsBatchFake* fake = testing::AwsBatchFake::Get();
    ASSERT_NE(fake, nullptr);
    auto on_s3 = also_configure;
    also_configure = [on_s3, fake](trenode::v1::NodeConfig& config) {
      on_s3(config);
      auto* batch = config.mutable_compute()->mutable_aws_batch();
      batch->set_endpoint(fake->endpoint());
      batch->set_job_queue(testing::AwsBatchFake::kQueue);
      batch->set_job_definition(testing::AwsBatchFake::kDefinition);
      PriceCpu(config, "aws-batch");
    };
  }
};

TEST_F(S3BatchNodeTest, AScriptJobRunsOnAwsBatchAndItsOutputIsReleased) {
  EXPECT_TRUE(node_.config().compute().has_aws_batch());
  const int64_t submitted = testing::AwsBatchFake::Get()->Counter("submitted").value_or(-1);
  std::string analysis = ScriptAnalysis(
      "test -r /data/synth-ehr-4.sqlite && echo 'mean LVEF 31.2 (n=200)' > /job/outbox/out.txt",
      {"out.txt"});
  EXPECT_EQ(testing::AwsBatchFake::Get()->Counter("submitted").value_or(-1), submitted + 1);
  EXPECT_TRUE(Keys("site-a/batch-jobs/").empty()) << ::testing::PrintToString(Keys("site-a/"));
  // The AWS Batch fake lets the runner make a cgroup for the job.
  ExpectChargedFromTheRunner(WaitForAnalysis(analysis), "aws-batch", "job-runner-cgroup");
  EXPECT_EQ(ReleasedOutput(analysis, "one mean over 200 persons"), "mean LVEF 31.2 (n=200)\n");
}

// The same on Azure Blob Storage (Azurite, which checks Shared Key).
class AzureNodeTest : public testing::ReleasesFixture {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<testing::Azurite*> azurite = testing::Azurite::Get();
    ASSERT_TRUE(azurite.ok()) << azurite.status();
    adapters::azure::AzureStorageAccount account = (*azurite)->account();
    // The node reads the standard connection string from its environment.
    ::setenv("AZURE_STORAGE_CONNECTION_STRING",
             absl::StrCat("DefaultEndpointsProtocol=http;AccountName=", account.account_name,
                          ";AccountKey=", account.account_key,
                          ";BlobEndpoint=", account.blob_endpoint, ";")
                 .c_str(),
             1);
    also_configure = [azurite](trenode::v1::NodeConfig& config) {
      absl::StatusOr<std::string> container = (*azurite)->NewContainer();
      ASSERT_TRUE(container.ok()) << container.status();
      auto* azure = config.mutable_object_store()->mutable_azure_blob();
      azure->set_container(*container);
      azure->set_key_prefix("site-a/");
      container_ = *container;
    };
  }
  static void TearDownTestSuite() { also_configure = nullptr; }

  std::unique_ptr<adapters::azure::AzureBlobObjectStore> Container() {
    adapters::azure::AzureBlobStoreOptions options;
    options.container = container_;
    return *adapters::azure::AzureBlobObjectStore::Open((*testing::Azurite::Get())->account(),
                                                        options);
  }

  static inline std::string container_;
};

TEST_F(AzureNodeTest, ImportsQueriesAndReleasesWithEverythingInTheContainer) {
  EXPECT_TRUE(node_.config().object_store().has_azure_blob());
  auto container = Container();
  auto datasets = container->List("site-a/datasets/synth-ehr-4/");
  ASSERT_TRUE(datasets.ok()) << datasets.status();
  ASSERT_EQ(datasets->size(), 1u);

  Release draft, submitted, reply;
  ASSERT_TRUE(Create(CountsAnalysis("azure-q1"), &draft).ok());
  ASSERT_TRUE(Submit(draft.id(), &submitted).ok());
  ASSERT_TRUE(Review(submitted, "olu", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_TRUE(Review(submitted, "kim", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED) << reply.state_reason();
  std::string bytes;
  ASSERT_TRUE(Download(reply, "ada", "researcher", &bytes).ok());
  EXPECT_TRUE(absl::StartsWith(bytes, "age_band,sex,count\n")) << bytes;
  auto egress = adapters::ReadObject(
      *container, absl::StrCat("site-a/egress/", reply.id(), "/", reply.files(0).name()));
  ASSERT_TRUE(egress.ok()) << egress.status();
  EXPECT_EQ(*egress, bytes);
}

// Script jobs on Azure Batch (the fake service, running the real runner),
// staged in the node's container.
class AzureBatchNodeTest : public AzureNodeTest {
 protected:
  static void SetUpTestSuite() {
    AzureNodeTest::SetUpTestSuite();
    testing::FakeAzureBatch* fake = testing::AzureBatchFake();
    ASSERT_NE(fake, nullptr);
    ::setenv("AZURE_BATCH_ACCOUNT_KEY", testing::FakeAzureBatch::kKey, 1);
    auto on_azure = also_configure;
    also_configure = [on_azure, fake](trenode::v1::NodeConfig& config) {
      on_azure(config);
      auto* batch = config.mutable_compute()->mutable_azure_batch();
      batch->set_account_name(testing::FakeAzureBatch::kAccount);
      batch->set_endpoint(fake->endpoint());
      batch->set_job_id("trenode-jobs");
      batch->set_pool_id("trenode-pool");
      batch->set_image("trenode/job-runner:test");
      PriceCpu(config, "azure-batch");
    };
  }
};

TEST_F(AzureBatchNodeTest, AScriptJobRunsOnAzureBatchAndItsOutputIsReleased) {
  EXPECT_TRUE(node_.config().compute().has_azure_batch());
  std::string analysis = ScriptAnalysis(
      "test -r /data/synth-ehr-4.sqlite && echo 'mean LVEF 31.2 (n=200)' > /job/outbox/out.txt",
      {"out.txt"});
  auto staged = Container()->List("site-a/batch-jobs/");
  ASSERT_TRUE(staged.ok());
  EXPECT_TRUE(staged->empty());
  ExpectChargedFromTheRunner(WaitForAnalysis(analysis), "azure-batch", "job-runner-rusage");
  EXPECT_EQ(ReleasedOutput(analysis, "one mean over 200 persons"), "mean LVEF 31.2 (n=200)\n");
}

TEST(AzureNodeStartTest, AWrongKeyOrMissingContainerStopsTheNodeNamingTheField) {
  absl::StatusOr<testing::Azurite*> azurite = testing::Azurite::Get();
  ASSERT_TRUE(azurite.ok()) << azurite.status();
  adapters::azure::AzureStorageAccount account = (*azurite)->account();
  auto start = [&](const std::string& connection_string, const std::string& container) {
    ::setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string.c_str(), 1);
    try {
      testing::TestNode node([&](trenode::v1::NodeConfig& config) {
        config.mutable_object_store()->mutable_azure_blob()->set_container(container);
      });
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("started");
  };
  std::string good = absl::StrCat("AccountName=", account.account_name, ";AccountKey=",
                                  account.account_key, ";BlobEndpoint=", account.blob_endpoint);
  absl::StatusOr<std::string> container = (*azurite)->NewContainer();
  ASSERT_TRUE(container.ok());
  EXPECT_EQ(start(good, *container), "started");
  std::string wrong_key = start(
      absl::StrCat("AccountName=", account.account_name,
                   ";AccountKey=bm90LXRoZS1rZXk=;BlobEndpoint=", account.blob_endpoint),
      *container);
  EXPECT_TRUE(absl::StartsWith(wrong_key, "object_store.azure_blob: ")) << wrong_key;
  EXPECT_TRUE(absl::StrContains(wrong_key, "403")) << wrong_key;
  EXPECT_FALSE(absl::StrContains(wrong_key, "bm90LXRoZS1rZXk")) << "the key is quoted: " << wrong_key;
  std::string missing = start(good, "no-such-container");
  EXPECT_TRUE(absl::StartsWith(missing, "object_store.azure_blob: ")) << missing;
  std::string malformed = start("AccountName=x", *container);
  EXPECT_TRUE(absl::StartsWith(malformed, "object_store.azure_blob: connection string: ")) << malformed;
  ::unsetenv("AZURE_STORAGE_CONNECTION_STRING");
  EXPECT_TRUE(absl::StrContains(start("", *container), "AZURE_STORAGE_CONNECTION_STRING"));
}

// A node that cannot use its bucket does not start, and says which field.
std::string StartError(const std::function<void(trenode::v1::S3ObjectStoreConfig&)>& change) {
  S3Emulator* emulator = S3Emulator::Get();
  if (emulator == nullptr) return "no S3 emulator";
  auto options = emulator->NewBucket();
  EXPECT_TRUE(options.ok());
  try {
    testing::TestNode node([&](trenode::v1::NodeConfig& config) {
      auto* s3 = config.mutable_object_store()->mutable_s3();
      s3->set_bucket(options->bucket);
      s3->set_region(options->region);
      s3->set_endpoint(options->endpoint);
      s3->set_path_style(true);
      change(*s3);
    });
  } catch (const std::exception& e) {
    return e.what();
  }
  return "started";
}

TEST(S3NodeStartTest, AnUnusableBucketStopsTheNodeAtStartNamingTheField) {
  ::setenv("AWS_ACCESS_KEY_ID", S3Emulator::kAccessKey, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "a-wrong-secret", 1);
  std::string wrong_key = StartError([](auto&) {});
  EXPECT_TRUE(absl::StartsWith(wrong_key, "object_store.s3: S3 refused ListObjectsV2 s3://")) << wrong_key;
  EXPECT_TRUE(absl::StrContains(wrong_key, "403 SignatureDoesNotMatch")) << wrong_key;
  ::setenv("AWS_SECRET_ACCESS_KEY", S3Emulator::kSecret, 1);
  EXPECT_EQ(StartError([](auto&) {}), "started");
  std::string missing = StartError([](auto& s3) { s3.set_bucket("no-such-bucket-here"); });
  EXPECT_TRUE(absl::StrContains(missing, "the S3 bucket no-such-bucket-here does not exist"))
      << missing;
  std::string bad_name = StartError([](auto& s3) { s3.set_bucket("Bad_Bucket"); });
  EXPECT_TRUE(absl::StartsWith(bad_name, "object_store.s3.bucket \"Bad_Bucket\" is not a bucket name"))
      << bad_name;
  std::string bad_encryption = StartError([](auto& s3) { s3.set_server_side_encryption("rot13"); });
  EXPECT_TRUE(absl::StartsWith(bad_encryption, "object_store.s3.server_side_encryption"))
      << bad_encryption;
}

}  // namespace
}  // namespace trenode
