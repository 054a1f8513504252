// The ObjectStore contract (tests/contract/object_store_contract.h) on the
// Azure Blob store against Azurite, a fresh container per test. Blocks of
// 1 MiB and listing pages of 5 blobs, so that the contract's large objects
// are staged as many blocks and its long listings span several pages.
#include <memory>

#include "adapters/azure/azure_blob_object_store.h"
#include "tests/contract/object_store_contract.h"
#include "tests/testutil/azurite.h"

namespace trenode::adapters {
namespace {

struct AzureBlobFactory {
  std::unique_ptr<ObjectStore> Make() {
    absl::StatusOr<testing::Azurite*> azurite = testing::Azurite::Get();
    if (!azurite.ok()) {
      ADD_FAILURE() << azurite.status();
      return nullptr;
    }
    absl::StatusOr<std::string> container = (*azurite)->NewContainer();
    if (!container.ok()) {
      ADD_FAILURE() << container.status();
      return nullptr;
    }
    azure::AzureBlobStoreOptions options;
    options.container = *container;
    options.block_size = 1 << 20;
    options.list_page_size = 5;
    auto store = azure::AzureBlobObjectStore::Open((*azurite)->account(), options);
    if (!store.ok()) {
      ADD_FAILURE() << store.status();
      return nullptr;
    }
    return std::move(*store);
  }
};

// The same, with every key under a prefix in the container.
struct PrefixedAzureBlobFactory {
  std::unique_ptr<ObjectStore> Make() {
    absl::StatusOr<testing::Azurite*> started = testing::Azurite::Get();
    if (!started.ok()) {
      ADD_FAILURE() << started.status();
      return nullptr;
    }
    testing::Azurite* azurite = *started;
    azure::AzureBlobStoreOptions options;
    options.container = *azurite->NewContainer();
    options.prefix = "node-a/";
    options.block_size = 1 << 20;
    options.list_page_size = 5;
    // Another tenant's blob beside the prefix: never listed, never touched.
    auto neighbour_options = options;
    neighbour_options.prefix = "node-b/";
    auto neighbour = *azure::AzureBlobObjectStore::Open(azurite->account(), neighbour_options);
    EXPECT_TRUE(WriteObject(*neighbour, "a/1", "not yours").ok());
    return std::move(*azure::AzureBlobObjectStore::Open(azurite->account(), options));
  }
};

using AzureBlob = ::testing::Types<AzureBlobFactory, PrefixedAzureBlobFactory>;
INSTANTIATE_TYPED_TEST_SUITE_P(AzureBlob, ObjectStoreContractTest, AzureBlob);

}  // namespace
}  // namespace trenode::adapters
