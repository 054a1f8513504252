// Blob SASs and presigned requests against Azurite, which checks SAS tokens
// as Azure does: a blob SAS grants its one blob and its permissions only;
// presigned PUT then GET round-trip through plain HTTP requests with no
// other credentials; an expired URL is refused; a store on a SAS cannot sign.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/azure/azure_blob_object_store.h"
#include "adapters/azure/sas.h"
#include "adapters/cloud/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/azurite.h"

namespace trenode::adapters::azure {
namespace {

using ::testing::HasSubstr;

cloud::HttpRequest Send(const PresignedRequest& presigned, std::string body = "") {
  cloud::HttpRequest request{presigned.method, presigned.url, {}, std::move(body)};
  for (const auto& [name, value] : presigned.headers) request.headers.push_back({name, value});
  return request;
}

class AzureBlobPresignTest : public testing::AzuriteContainerTest {
 protected:
  void SetUp() override {
    AzuriteContainerTest::SetUp();
    if (HasFatalFailure()) return;
    AzureBlobStoreOptions options;
    options.container = container_;
    options.prefix = "node-a/";
    auto store = AzureBlobObjectStore::Open(azurite_->account(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  // A plain request to the blob `name` of the test's container, with `sas`.
  absl::StatusOr<cloud::HttpResponse> Plain(const std::string& method, const std::string& name,
                                            const std::string& sas, std::string body = "") {
    cloud::HttpRequest request{
        method, absl::StrCat(azurite_->account().blob_endpoint, "/", container_, "/", name, "?", sas),
        {{"x-ms-version", kAzureStorageVersion}, {"x-ms-blob-type", "BlockBlob"}},
        std::move(body)};
    return http_.Send(request);
  }

  std::unique_ptr<AzureBlobObjectStore> store_;
  cloud::HttpClient http_;
};

TEST_F(AzureBlobPresignTest, ReadBlobSasReadsOnlyItsBlob) {
  ASSERT_TRUE(WriteObject(*store_, "mine", "my bytes").ok());
  ASSERT_TRUE(WriteObject(*store_, "other", "not yours").ok());
  SasGrant grant;
  grant.permissions.read = true;
  grant.expiry = absl::Now() + absl::Hours(1);
  grant.protocol = "https,http";
  auto sas = MakeBlobSas(*MakeSharedKey(kDevelopmentAccountName, kDevelopmentAccountKey),
                         container_, "node-a/mine", grant);
  ASSERT_TRUE(sas.ok()) << sas.status();

  auto mine = Plain("GET", "node-a/mine", *sas);
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(mine->status, 200);
  EXPECT_EQ(mine->body, "my bytes");
  auto other = Plain("GET", "node-a/other", *sas);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->status, 403) << other->body;
  auto write = Plain("PUT", "node-a/mine", *sas, "overwritten");
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->status, 403) << write->body;
  EXPECT_EQ(*ReadObject(*store_, "mine"), "my bytes");
}

TEST_F(AzureBlobPresignTest, PresignedPutThenGetRoundTrip) {
  auto put = store_->PresignPut("jobs/j1/result", absl::Minutes(10));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->method, "PUT");
  EXPECT_THAT(put->url, HasSubstr("sr=b"));
  auto stored = http_.Send(Send(*put, "the result"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->status, 201) << stored->body;
  EXPECT_EQ(*ReadObject(*store_, "jobs/j1/result"), "the result");

  auto get = store_->PresignGet("jobs/j1/result", absl::Minutes(10));
  ASSERT_TRUE(get.ok()) << get.status();
  auto fetched = http_.Send(Send(*get));
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->status, 200);
  EXPECT_EQ(fetched->body, "the result");

  // The GET URL does not write, and the PUT URL names no other object.
  PresignedRequest get_as_put = *get;
  get_as_put.method = "PUT";
  get_as_put.headers.push_back({"x-ms-blob-type", "BlockBlob"});
  EXPECT_EQ(http_.Send(Send(get_as_put, "forged"))->status, 403);
  EXPECT_EQ(*ReadObject(*store_, "jobs/j1/result"), "the result");
}

TEST_F(AzureBlobPresignTest, ExpiredUrlIsRefused) {
  ASSERT_TRUE(WriteObject(*store_, "manifest", "m").ok());
  auto get = store_->PresignGet("manifest", absl::Seconds(1));
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(http_.Send(Send(*get))->status, 200);
  // SAS times are whole seconds: poll until the expiry has passed.
  int status = 200;
  for (absl::Time deadline = absl::Now() + absl::Seconds(15);
       status == 200 && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(250));
    status = http_.Send(Send(*get))->status;
  }
  EXPECT_EQ(status, 403);
}

TEST_F(AzureBlobPresignTest, BadRequestsAreRefused) {
  EXPECT_EQ(store_->PresignGet("../x", absl::Minutes(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PresignPut("x", absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PresignPut("x", absl::Hours(24 * 8)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AzureBlobPresignTest, StoreOnSasCannotPresign) {
  SasGrant grant;
  grant.permissions = {true, true, true, true, true, true};
  grant.expiry = absl::Now() + absl::Hours(1);
  grant.protocol = "https,http";
  AzureStorageAccount account = azurite_->account();
  account.sas = *MakeContainerSas(*MakeSharedKey(kDevelopmentAccountName, kDevelopmentAccountKey),
                                  container_, grant);
  account.account_key.clear();
  AzureBlobStoreOptions options;
  options.container = container_;
  auto store = AzureBlobObjectStore::Open(account, options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto get = (*store)->PresignGet("x", absl::Minutes(1));
  EXPECT_EQ(get.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(get.status().message(), HasSubstr("presigned URLs need the storage account key"));
}

}  // namespace
}  // namespace trenode::adapters::azure
