// The ObjectStore contract (tests/contract/object_store_contract.h) on S3:
// s3rver behind a proxy that checks every signature.
#include <memory>

#include "adapters/aws/s3_object_store.h"
#include "tests/contract/object_store_contract.h"
#include "tests/testutil/s3_emulator.h"

namespace trenode::adapters {
namespace {

struct S3Factory {
  std::unique_ptr<ObjectStore> Make() {
    testing::S3Emulator* emulator = testing::S3Emulator::Get();
    if (emulator == nullptr) return nullptr;
    auto options = emulator->NewBucket();
    EXPECT_TRUE(options.ok()) << options.status();
    if (!options.ok()) return nullptr;
    auto store = aws::S3ObjectStore::Open(
        *options, aws::StaticCredentials({testing::S3Emulator::kAccessKey,
                                          testing::S3Emulator::kSecret, ""}));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(S3, ObjectStoreContractTest, ::testing::Types<S3Factory>);

}  // namespace
}  // namespace trenode::adapters
