// The ObjectStore contract (tests/contract/object_store_contract.h) on the
// stores that need no server: in memory and POSIX.
#include <memory>

#include "adapters/memory/memory_object_store.h"
#include "adapters/onprem/posix_object_store.h"
#include "tests/contract/object_store_contract.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters {
namespace {

struct MemoryFactory {
  std::unique_ptr<ObjectStore> Make() { return std::make_unique<MemoryObjectStore>(); }
};

struct PosixFactory {
  testing::TempDir dir;
  std::unique_ptr<ObjectStore> Make() { return *PosixObjectStore::Open(dir.path() / "store"); }
};

using Local = ::testing::Types<MemoryFactory, PosixFactory>;
INSTANTIATE_TYPED_TEST_SUITE_P(Local, ObjectStoreContractTest, Local);

}  // namespace
}  // namespace trenode::adapters
