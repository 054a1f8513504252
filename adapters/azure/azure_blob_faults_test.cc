// Faults between the node and Azure Blob Storage, injected by a real proxy
// (tests/emulators/fault_proxy.py) in front of Azurite: throttling (503
// ServerBusy) is retried; a connection dropped mid-upload leaves no partial
// blob (and an earlier blob at the key intact); a read whose stream is cut
// resumes on the same version, and fails rather than mix two versions.
#include "absl/strings/str_cat.h"
#include "adapters/azure/azure_blob_object_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/azurite.h"

namespace trenode::adapters::azure {
namespace {

using ::testing::HasSubstr;

std::string Pattern(size_t size, int seed) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 131 + seed) % 251);
  return data;
}

class AzureBlobFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto azurite = testing::Azurite::Get();
    ASSERT_TRUE(azurite.ok()) << azurite.status();
    azurite_ = *azurite;
    options_.container = *azurite_->NewContainer();
    options_.block_size = 1 << 20;
    options_.client.retry = {4, absl::Milliseconds(5), absl::Milliseconds(50)};
    auto direct = AzureBlobObjectStore::Open(azurite_->account(), options_);
    ASSERT_TRUE(direct.ok()) << direct.status();
    direct_ = std::move(*direct);
  }

  // A store reaching Azurite through a fault proxy started with `flags`.
  absl::StatusOr<std::unique_ptr<AzureBlobObjectStore>> ThroughProxy(
      const std::vector<std::string>& flags) {
    auto proxy = testing::StartFaultProxy(azurite_->port(), flags, dir_.File("proxy.log"));
    if (!proxy.ok()) return proxy.status();
    proxy_ = std::move(*proxy);
    return AzureBlobObjectStore::Open(azurite_->AccountVia(proxy_->port()), options_);
  }

  testing::TempDir dir_;
  testing::Azurite* azurite_ = nullptr;
  AzureBlobStoreOptions options_;
  std::unique_ptr<AzureBlobObjectStore> direct_;
  std::unique_ptr<testing::ServerProcess> proxy_;
};

TEST_F(AzureBlobFaultsTest, ServerBusyIsRetriedAndSucceeds) {
  // The store's first request (Open's listing) meets three 503s in a row.
  auto store = ThroughProxy({"--fail-first", "3", "--fail-status", "503", "--fail-code", "ServerBusy"});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(WriteObject(**store, "k", "after the throttling").ok());
  EXPECT_EQ(*ReadObject(*direct_, "k"), "after the throttling");
}

TEST_F(AzureBlobFaultsTest, ServerBusyThatPersistsIsUnavailable) {
  auto store = ThroughProxy({"--fail-first", "1000"});
  ASSERT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("503 ServerBusy"));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("after 4 attempts"));
}

TEST_F(AzureBlobFaultsTest, ConnectionDroppedMidBlockUploadLeavesNoBlob) {
  // The proxy dies with the third block half sent: every later retry finds no server.
  auto store = ThroughProxy({"--die-after-body-bytes", absl::StrCat(2 * (1 << 20) + (1 << 19))});
  ASSERT_TRUE(store.ok()) << store.status();
  auto writer = (*store)->OpenWrite("big/upload");
  ASSERT_TRUE(writer.ok());
  absl::Status status;
  for (int i = 0; i < 6 && status.ok(); ++i) status = (*writer)->Append(Pattern(1 << 20, i));
  if (status.ok()) status = (*writer)->Commit();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(direct_->Stat("big/upload").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(direct_->List("")->empty());
}

TEST_F(AzureBlobFaultsTest, ConnectionDroppedMidPutBlobKeepsTheOldBlob) {
  ASSERT_TRUE(WriteObject(*direct_, "report.csv", "the old report").ok());
  auto store = ThroughProxy({"--die-after-body-bytes", "100000"});
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Status status = WriteObject(**store, "report.csv", Pattern(512 << 10, 7));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(*ReadObject(*direct_, "report.csv"), "the old report");
}

TEST_F(AzureBlobFaultsTest, ACutReadResumesOnTheSameVersion) {
  std::string data = Pattern(3 << 20, 1);
  ASSERT_TRUE(WriteObject(*direct_, "dataset.sqlite", data).ok());
  auto store = ThroughProxy({"--cut-responses-after-bytes", "300000", "--cut-count", "2"});
  ASSERT_TRUE(store.ok()) << store.status();
  auto reader = (*store)->OpenRead("dataset.sqlite");
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string read;
  while (true) {
    auto chunk = (*reader)->Read(64 << 10);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    if (chunk->empty()) break;
    read += *chunk;
  }
  EXPECT_TRUE(read == data) << "read " << read.size() << " bytes of " << data.size();
  std::string log = testing::ReadFile(dir_.File("proxy.log"));
  EXPECT_THAT(log, HasSubstr("cut a response short"));
}

TEST_F(AzureBlobFaultsTest, ACutReadNeverMixesTwoVersions) {
  std::string old_data = Pattern(2 << 20, 1);
  ASSERT_TRUE(WriteObject(*direct_, "dataset.sqlite", old_data).ok());
  auto store = ThroughProxy({"--cut-responses-after-bytes", "300000"});
  ASSERT_TRUE(store.ok()) << store.status();
  auto reader = (*store)->OpenRead("dataset.sqlite");
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(WriteObject(*direct_, "dataset.sqlite", Pattern(2 << 20, 2)).ok());
  std::string read;
  absl::Status status;
  while (status.ok()) {
    auto chunk = (*reader)->Read(64 << 10);
    status = chunk.status();
    if (!chunk.ok() || chunk->empty()) break;
    read += *chunk;
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("was replaced or deleted while being read"));
  EXPECT_EQ(read.size(), 300000u);  // all the cut response gave, then no more
  EXPECT_EQ(read, old_data.substr(0, read.size()));
}

}  // namespace
}  // namespace trenode::adapters::azure
