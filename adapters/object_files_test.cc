// Local copies of objects: checked by hash, private to the node, nothing
// from before trusted.
#include "adapters/object_files.h"

#include <sys/stat.h>

#include <fstream>

#include "absl/strings/match.h"
#include "adapters/memory/memory_object_store.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters {
namespace {

class CachedObjectFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(WriteObject(store_, "datasets/a/1.sqlite", "the dataset's bytes").ok());
    sha256_ = *Sha256OfObject(store_, "datasets/a/1.sqlite");
  }
  std::string Contents(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  MemoryObjectStore store_;
  testing::TempDir dir_;
  std::string sha256_;
};

TEST_F(CachedObjectFilesTest, ACopyIsMadeOnceCheckedAndPrivate) {
  auto files = CachedObjectFiles::Open(&store_, dir_.path() / "cache");
  ASSERT_TRUE(files.ok()) << files.status();
  auto path = (*files)->PathOf("datasets/a/1.sqlite", sha256_);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(Contents(*path), "the dataset's bytes");
  EXPECT_EQ(*(*files)->PathOf("datasets/a/1.sqlite", sha256_), *path);
  EXPECT_EQ((*files)->downloads(), 1);
  struct stat st;
  ASSERT_EQ(::stat((dir_.path() / "cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(path->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "a copy of a dataset is readable by others";
}

TEST_F(CachedObjectFilesTest, AChangedObjectIsRefusedAndLeavesNoCopy) {
  auto files = CachedObjectFiles::Open(&store_, dir_.path() / "cache");
  ASSERT_TRUE(WriteObject(store_, "datasets/a/1.sqlite", "swapped bytes").ok());
  auto path = (*files)->PathOf("datasets/a/1.sqlite", sha256_);
  EXPECT_EQ(path.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(path.status().message(), "changed in the object store"));
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() / "cache"));
}

TEST_F(CachedObjectFilesTest, NoHashOrABadOneIsRefused) {
  auto files = CachedObjectFiles::Open(&store_, dir_.path() / "cache");
  EXPECT_EQ((*files)->PathOf("datasets/a/1.sqlite", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*files)->PathOf("datasets/a/1.sqlite", "../../etc/passwd").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*files)->PathOf("../x", sha256_).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CachedObjectFilesTest, AFilePlantedBeforeTheNodeStartsIsNeverRead) {
  std::filesystem::create_directories(dir_.path() / "cache");
  testing::WriteFile(dir_.path() / "cache" / (sha256_ + ".copy"), "planted");
  auto files = CachedObjectFiles::Open(&store_, dir_.path() / "cache");
  ASSERT_TRUE(files.ok());
  auto path = (*files)->PathOf("datasets/a/1.sqlite", sha256_);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(Contents(*path), "the dataset's bytes");
}

TEST_F(CachedObjectFilesTest, ADirectoryOfAnotherUserIsRefused) {
  std::filesystem::create_directories(dir_.path() / "theirs");
  ASSERT_EQ(::chown((dir_.path() / "theirs").c_str(), 12345, 12345), 0);
  auto files = CachedObjectFiles::Open(&store_, dir_.path() / "theirs");
  EXPECT_EQ(files.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace trenode::adapters
