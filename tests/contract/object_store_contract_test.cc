// The ObjectStore contract (tests/contract/object_store_contract.h) on the
// stores that need no server: in memory and POSIX.
#include <sys/stat.h>

#include <filesystem>
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

// The posix store copies by hard link: one file, two names, and nothing
// left in staging, also when the target already was a link to the source.
TEST(PosixObjectStoreTest, CopyLinksTheFileAndLeavesNothingStaged) {
  testing::TempDir dir;
  auto store = *PosixObjectStore::Open(dir.path() / "store");
  ASSERT_TRUE(WriteObject(*store, "releases/r/files/a.csv", "x,n\n1,10\n").ok());
  ASSERT_TRUE(store->Copy("releases/r/files/a.csv", "egress/r/a.csv").ok());
  ASSERT_TRUE(store->Copy("releases/r/files/a.csv", "egress/r/a.csv").ok());
  ASSERT_TRUE(store->Copy("egress/r/a.csv", "egress/r/a.csv").ok());  // onto itself: nothing
  struct stat review {}, egress {};
  ASSERT_EQ(::stat(store->PathOf("releases/r/files/a.csv").c_str(), &review), 0);
  ASSERT_EQ(::stat(store->PathOf("egress/r/a.csv").c_str(), &egress), 0);
  EXPECT_EQ(review.st_ino, egress.st_ino);
  EXPECT_EQ(egress.st_nlink, 2u);
  EXPECT_EQ(egress.st_mode & 0777, 0644u);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "store" / ".staging"));
  // A later write of the source is a new file: the copy keeps its link.
  ASSERT_TRUE(WriteObject(*store, "releases/r/files/a.csv", "other").ok());
  ASSERT_EQ(::stat(store->PathOf("egress/r/a.csv").c_str(), &egress), 0);
  EXPECT_EQ(egress.st_nlink, 1u);
  EXPECT_EQ(*ReadObject(*store, "egress/r/a.csv"), "x,n\n1,10\n");
}

}  // namespace
}  // namespace trenode::adapters
