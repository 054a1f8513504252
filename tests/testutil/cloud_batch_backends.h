// Cloud batch ComputeBackends for tests: AWS Batch (the fake, with jobs
// staged in S3 on s3rver), each on a new bucket.
#ifndef TRENODE_TESTS_TESTUTIL_CLOUD_BATCH_BACKENDS_H_
#define TRENODE_TESTS_TESTUTIL_CLOUD_BATCH_BACKENDS_H_

#include <memory>
#include <vector>

#include "adapters/aws/aws_batch_service.h"
#include "adapters/aws/s3_object_store.h"
#include "adapters/cloud/batch_compute_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/aws_batch_fake.h"
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

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_CLOUD_BATCH_BACKENDS_H_
