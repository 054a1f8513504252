// The ObjectStore contract: every implementation instantiates this suite.
#include <memory>
#include <string>

#include "adapters/memory/memory_object_store.h"
#include "adapters/object_store.h"
#include "adapters/onprem/posix_object_store.h"
#include "gtest/gtest.h"
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

template <typename Factory>
class ObjectStoreContractTest : public ::testing::Test {
 protected:
  Factory factory_;
  std::unique_ptr<ObjectStore> store_ = factory_.Make();
};

using Implementations = ::testing::Types<MemoryFactory, PosixFactory>;
TYPED_TEST_SUITE(ObjectStoreContractTest, Implementations);

TYPED_TEST(ObjectStoreContractTest, WrittenObjectReadsBackByteForByte) {
  std::string data(3 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 % 251);
  ASSERT_TRUE(WriteObject(*this->store_, "datasets/a/v1/data.sqlite", data).ok());
  auto read = ReadObject(*this->store_, "datasets/a/v1/data.sqlite");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);
  EXPECT_EQ(this->store_->Stat("datasets/a/v1/data.sqlite")->size,
            static_cast<int64_t>(data.size()));
}

TYPED_TEST(ObjectStoreContractTest, UncommittedWriterLeavesNothing) {
  {
    auto writer = this->store_->OpenWrite("x/y");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append("partial").ok());
  }
  EXPECT_EQ(this->store_->Stat("x/y").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(this->store_->List("")->empty());
}

TYPED_TEST(ObjectStoreContractTest, ReplacingIsAtomicForOpenReaders) {
  ASSERT_TRUE(WriteObject(*this->store_, "k", "old contents").ok());
  auto reader = this->store_->OpenRead("k");
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(WriteObject(*this->store_, "k", "new").ok());
  EXPECT_EQ(*(*reader)->Read(100), "old contents");
  EXPECT_EQ(*ReadObject(*this->store_, "k"), "new");
}

TYPED_TEST(ObjectStoreContractTest, ListIsSortedAndFilteredByPrefix) {
  for (const char* key : {"b/2", "a/1", "b/1", "ba/3", "c"}) {
    ASSERT_TRUE(WriteObject(*this->store_, key, key).ok());
  }
  auto all = this->store_->List("");
  ASSERT_TRUE(all.ok());
  std::vector<std::string> keys;
  for (const auto& info : *all) keys.push_back(info.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "b/1", "b/2", "ba/3", "c"}));

  keys.clear();
  auto under_b_dir = this->store_->List("b/");
  for (const auto& info : *under_b_dir) keys.push_back(info.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"b/1", "b/2"}));
  keys.clear();
  auto starting_b = this->store_->List("b");
  for (const auto& info : *starting_b) keys.push_back(info.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"b/1", "b/2", "ba/3"}));
}

TYPED_TEST(ObjectStoreContractTest, MissingObjectsAreNotFound) {
  EXPECT_EQ(this->store_->OpenRead("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Stat("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Delete("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Copy("nope", "dst").code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(ObjectStoreContractTest, DeleteAndCopy) {
  ASSERT_TRUE(WriteObject(*this->store_, "src", "payload").ok());
  ASSERT_TRUE(this->store_->Copy("src", "dst/copy").ok());
  ASSERT_TRUE(this->store_->Delete("src").ok());
  EXPECT_EQ(this->store_->Stat("src").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*ReadObject(*this->store_, "dst/copy"), "payload");
}

TYPED_TEST(ObjectStoreContractTest, RejectsKeysThatCouldEscape) {
  for (const char* bad : {"", "/abs", "a//b", "a/", "../x", "a/../b", ".hidden", "a/.staging/x",
                          "sp ace", "semi;colon"}) {
    EXPECT_EQ(this->store_->OpenWrite(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(this->store_->OpenRead(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TYPED_TEST(ObjectStoreContractTest, CommitTwiceIsRefused) {
  auto writer = *this->store_->OpenWrite("once");
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_EQ(writer->Commit().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace trenode::adapters
