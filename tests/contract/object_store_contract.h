// The ObjectStore contract: every implementation passes this suite. A test
// program instantiates it with a factory per implementation:
//
//   struct MyFactory { std::unique_ptr<ObjectStore> Make(); };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, ObjectStoreContractTest, ::testing::Types<MyFactory>);
//
// Each test makes one factory and one store; a store starts empty.
#ifndef TRENODE_TESTS_CONTRACT_OBJECT_STORE_CONTRACT_H_
#define TRENODE_TESTS_CONTRACT_OBJECT_STORE_CONTRACT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/object_store.h"
#include "gtest/gtest.h"

namespace trenode::adapters {

template <typename Factory>
class ObjectStoreContractTest : public ::testing::Test {
 protected:
  // A factory that cannot make its store has added a failure saying why and
  // returned null: every test then stops here instead of using it.
  void SetUp() override { ASSERT_NE(store_, nullptr) << "no store to test (see above)"; }

  Factory factory_;
  std::unique_ptr<ObjectStore> store_ = factory_.Make();
};

TYPED_TEST_SUITE_P(ObjectStoreContractTest);

TYPED_TEST_P(ObjectStoreContractTest, WrittenObjectReadsBackByteForByte) {
  std::string data(3 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 % 251);
  ASSERT_TRUE(WriteObject(*this->store_, "datasets/a/v1/data.sqlite", data).ok());
  auto read = ReadObject(*this->store_, "datasets/a/v1/data.sqlite");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);
  EXPECT_EQ(this->store_->Stat("datasets/a/v1/data.sqlite")->size,
            static_cast<int64_t>(data.size()));
}

TYPED_TEST_P(ObjectStoreContractTest, UncommittedWriterLeavesNothing) {
  {
    auto writer = this->store_->OpenWrite("x/y");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append("partial").ok());
  }
  EXPECT_EQ(this->store_->Stat("x/y").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(this->store_->List("")->empty());
}

TYPED_TEST_P(ObjectStoreContractTest, ReplacingIsAtomicForOpenReaders) {
  ASSERT_TRUE(WriteObject(*this->store_, "k", "old contents").ok());
  auto reader = this->store_->OpenRead("k");
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(WriteObject(*this->store_, "k", "new").ok());
  EXPECT_EQ(*(*reader)->Read(100), "old contents");
  EXPECT_EQ(*ReadObject(*this->store_, "k"), "new");
}

TYPED_TEST_P(ObjectStoreContractTest, ListIsSortedAndFilteredByPrefix) {
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

TYPED_TEST_P(ObjectStoreContractTest, MissingObjectsAreNotFound) {
  EXPECT_EQ(this->store_->OpenRead("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Stat("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Delete("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Copy("nope", "dst").code(), absl::StatusCode::kNotFound);
}

TYPED_TEST_P(ObjectStoreContractTest, DeleteAndCopy) {
  ASSERT_TRUE(WriteObject(*this->store_, "src", "payload").ok());
  ASSERT_TRUE(this->store_->Copy("src", "dst/copy").ok());
  ASSERT_TRUE(this->store_->Delete("src").ok());
  EXPECT_EQ(this->store_->Stat("src").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*ReadObject(*this->store_, "dst/copy"), "payload");
}

// A copy is its own object: a store may share the bytes (posix hard-links
// them) but writing or deleting either key never changes the other, and
// copying onto a key that already holds a copy is harmless. (Copying an
// object onto itself is not part of the contract: S3 refuses it.)
TYPED_TEST_P(ObjectStoreContractTest, CopiesAreIndependentOfTheirSource) {
  ASSERT_TRUE(WriteObject(*this->store_, "review/a.csv", "reviewed").ok());
  ASSERT_TRUE(this->store_->Copy("review/a.csv", "egress/a.csv").ok());
  ASSERT_TRUE(WriteObject(*this->store_, "review/a.csv", "changed after release").ok());
  EXPECT_EQ(*ReadObject(*this->store_, "egress/a.csv"), "reviewed");
  ASSERT_TRUE(WriteObject(*this->store_, "egress/a.csv", "egress changed").ok());
  EXPECT_EQ(*ReadObject(*this->store_, "review/a.csv"), "changed after release");
  ASSERT_TRUE(this->store_->Copy("review/a.csv", "egress/a.csv").ok());
  ASSERT_TRUE(this->store_->Copy("review/a.csv", "egress/a.csv").ok());
  EXPECT_EQ(*ReadObject(*this->store_, "egress/a.csv"), "changed after release");
  ASSERT_TRUE(this->store_->Delete("egress/a.csv").ok());
  EXPECT_EQ(*ReadObject(*this->store_, "review/a.csv"), "changed after release");
  auto listed = this->store_->List("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "review/a.csv");
}

TYPED_TEST_P(ObjectStoreContractTest, RejectsKeysThatCouldEscape) {
  for (const char* bad : {"", "/abs", "a//b", "a/", "../x", "a/../b", ".hidden", "a/.staging/x",
                          "sp ace", "semi;colon"}) {
    EXPECT_EQ(this->store_->OpenWrite(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(this->store_->OpenRead(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TYPED_TEST_P(ObjectStoreContractTest, CommitTwiceIsRefused) {
  auto writer = *this->store_->OpenWrite("once");
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_EQ(writer->Commit().code(), absl::StatusCode::kFailedPrecondition);
}

TYPED_TEST_P(ObjectStoreContractTest, LargeObjectsWrittenInPiecesReadBackWhole) {
  // Larger than a cloud store's upload part: written as several parts,
  // committed as one object; nothing appears before the commit.
  std::string piece(1 << 20, '\0');
  std::string whole;
  auto writer = this->store_->OpenWrite("big/object");
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int i = 0; i < 12; ++i) {
    for (size_t j = 0; j < piece.size(); ++j) piece[j] = static_cast<char>((i * 7 + j) % 253);
    ASSERT_TRUE((*writer)->Append(piece).ok());
    whole += piece;
  }
  EXPECT_EQ(this->store_->Stat("big/object").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE((*writer)->Commit().ok());
  auto read = ReadObject(*this->store_, "big/object");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == whole) << "read " << read->size() << " bytes of " << whole.size();
  EXPECT_TRUE(this->store_->List("")->size() == 1);
}

TYPED_TEST_P(ObjectStoreContractTest, ListingsLongerThanAPageAreComplete) {
  std::vector<std::string> written;
  for (int i = 0; i < 23; ++i) {
    std::string key = absl::StrCat("many/", i < 10 ? "0" : "", i);
    ASSERT_TRUE(WriteObject(*this->store_, key, key).ok());
    written.push_back(key);
  }
  ASSERT_TRUE(WriteObject(*this->store_, "other", "x").ok());
  auto listed = this->store_->List("many/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> keys;
  for (const auto& info : *listed) {
    keys.push_back(info.key);
    EXPECT_EQ(info.size, static_cast<int64_t>(info.key.size()));
  }
  EXPECT_EQ(keys, written);
}

REGISTER_TYPED_TEST_SUITE_P(ObjectStoreContractTest, WrittenObjectReadsBackByteForByte,
                            UncommittedWriterLeavesNothing, ReplacingIsAtomicForOpenReaders,
                            ListIsSortedAndFilteredByPrefix, MissingObjectsAreNotFound,
                            DeleteAndCopy, CopiesAreIndependentOfTheirSource,
                            RejectsKeysThatCouldEscape, CommitTwiceIsRefused,
                            LargeObjectsWrittenInPiecesReadBackWhole,
                            ListingsLongerThanAPageAreComplete);

}  // namespace trenode::adapters

#endif  // TRENODE_TESTS_CONTRACT_OBJECT_STORE_CONTRACT_H_
