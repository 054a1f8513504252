// Cloud batch ComputeBackends for tests, each on a new bucket or container:
// AWS Batch (tests/emulators/fake_aws_batch.py, jobs staged in S3 on
// s3rver) and Azure Batch (fake_azure_batch.py, jobs staged in Azurite).
// Both fakes run the real job runner (TRENODE_JOB_RUNNER).
#ifndef TRENODE_TESTS_TESTUTIL_CLOUD_BATCH_BACKENDS_H_
#define TRENODE_TESTS_TESTUTIL_CLOUD_BATCH_BACKENDS_H_

#include <memory>
#include <vector>

#include "adapters/aws/aws_batch_service.h"
#include "adapters/aws/s3_object_store.h"
#include "adapters/azure/azure_batch_service.h"
#include "adapters/azure/azure_blob_object_store.h"
#include "adapters/cloud/batch_compute_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/aws_batch_fake.h"
#include "tests/testutil/azurite.h"
#include "tests/testutil/fake_azure_batch.h"
#include "tests/testutil/s3_emulator.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::testing {

// A backend with what it stands on; the store is kept for inspection.
struct AwsBatchSetup {
  std::unique_ptr<adapters::aws::S3ObjectStore> store;
  std::unique_ptr<adapters::cloud::BatchComputeBackend> backend;
};

inline AwsBatchSetup MakeAwsBatchSetup(const TempDir& dir,
                                       adapters::cloud::BatchBackendOptions options = {}) {
  AwsBatchSetup setup;
  S3Emulator* s3 = S3Emulator::Get();
  AwsBatchFake* batch = AwsBatchFake::Get();
  if (s3 == nullptr || batch == nullptr) return setup;
  auto bucket = s3->NewBucket();
  EXPECT_TRUE(bucket.ok()) << bucket.status();
  if (!bucket.ok()) return setup;
  std::shared_ptr<adapters::aws::AwsCredentialsProvider> credentials = adapters::aws::StaticCredentials(
      {S3Emulator::kAccessKey, S3Emulator::kSecret, ""});
  auto store = adapters::aws::S3ObjectStore::Open(*bucket, credentials);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return setup;
  setup.store = *std::move(store);
  auto service = adapters::aws::AwsBatchService::Open(batch->Options(bucket->region), credentials);
  EXPECT_TRUE(service.ok()) << service.status();
  if (!service.ok()) return setup;
  options.work_root = dir.File("jobs");
  auto backend = adapters::cloud::BatchComputeBackend::Create(
      options, *std::move(service), setup.store.get(), setup.store.get());
  EXPECT_TRUE(backend.ok()) << backend.status();
  if (backend.ok()) setup.backend = *std::move(backend);
  return setup;
}

// For the ComputeBackend contract: the stores live as long as the program.
struct AwsBatchFactory {
  static std::unique_ptr<adapters::ComputeBackend> Make(const TempDir& dir) {
    static std::vector<std::unique_ptr<adapters::aws::S3ObjectStore>> stores;
    AwsBatchSetup setup = MakeAwsBatchSetup(dir);
    stores.push_back(std::move(setup.store));
    return std::move(setup.backend);
  }
};

struct AzureBatchSetup {
  std::unique_ptr<adapters::azure::AzureBlobObjectStore> store;
  std::unique_ptr<adapters::cloud::BatchComputeBackend> backend;
};

// The program's fake Azure Batch service, running the real job runner.
inline FakeAzureBatch* AzureBatchFake() {
  static std::unique_ptr<FakeAzureBatch> fake = []() -> std::unique_ptr<FakeAzureBatch> {
    auto started = FakeAzureBatch::Start(TRENODE_JOB_RUNNER);
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? *std::move(started) : nullptr;
  }();
  return fake.get();
}

inline AzureBatchSetup MakeAzureBatchSetup(const TempDir& dir,
                                           adapters::cloud::BatchBackendOptions options = {}) {
  AzureBatchSetup setup;
  absl::StatusOr<Azurite*> azurite = Azurite::Get();
  FakeAzureBatch* batch = AzureBatchFake();
  EXPECT_TRUE(azurite.ok()) << azurite.status();
  if (!azurite.ok() || batch == nullptr) return setup;
  absl::StatusOr<std::string> container = (*azurite)->NewContainer();
  EXPECT_TRUE(container.ok()) << container.status();
  if (!container.ok()) return setup;
  adapters::azure::AzureBlobStoreOptions store_options;
  store_options.container = *container;
  auto store = adapters::azure::AzureBlobObjectStore::Open((*azurite)->account(), store_options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return setup;
  setup.store = *std::move(store);
  adapters::azure::AzureBatchOptions batch_options;
  batch_options.account_name = FakeAzureBatch::kAccount;
  batch_options.account_key = FakeAzureBatch::kKey;
  batch_options.endpoint = batch->endpoint();
  batch_options.job_id = "trenode-jobs";
  batch_options.pool_id = "trenode-pool";
  batch_options.image = "trenode/job-runner:test";
  batch_options.retry.first_delay = absl::Milliseconds(5);
  auto service = adapters::azure::AzureBatchService::Open(batch_options);
  EXPECT_TRUE(service.ok()) << service.status();
  if (!service.ok()) return setup;
  options.work_root = dir.File("jobs");
  auto backend = adapters::cloud::BatchComputeBackend::Create(
      options, *std::move(service), setup.store.get(), setup.store.get());
  EXPECT_TRUE(backend.ok()) << backend.status();
  if (backend.ok()) setup.backend = *std::move(backend);
  return setup;
}

struct AzureBatchFactory {
  static std::unique_ptr<adapters::ComputeBackend> Make(const TempDir& dir) {
    static std::vector<std::unique_ptr<adapters::azure::AzureBlobObjectStore>> stores;
    AzureBatchSetup setup = MakeAzureBatchSetup(dir);
    stores.push_back(std::move(setup.store));
    return std::move(setup.backend);
  }
};

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_CLOUD_BATCH_BACKENDS_H_
