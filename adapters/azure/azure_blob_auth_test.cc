// Authorization against Azurite, which checks Shared Key signatures and SAS
// tokens as Azure does: the right key and SASs work, a wrong key, an expired
// SAS or a SAS without a permission are refused with errors a person can act on.
#include "absl/strings/str_cat.h"
#include "adapters/azure/azure_blob_object_store.h"
#include "adapters/azure/sas.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/azurite.h"

namespace trenode::adapters::azure {
namespace {

using ::testing::HasSubstr;

class AzureBlobAuthTest : public testing::AzuriteContainerTest {
 protected:
  absl::StatusOr<std::unique_ptr<AzureBlobObjectStore>> OpenWith(const AzureStorageAccount& account) {
    AzureBlobStoreOptions options;
    options.container = container_;
    options.client.retry.max_attempts = 2;
    return AzureBlobObjectStore::Open(account, options);
  }

  AzureStorageAccount WithSas(std::string sas) {
    AzureStorageAccount account = azurite_->account();
    account.account_key.clear();
    account.sas = std::move(sas);
    return account;
  }

  static SasGrant Grant(SasPermissions permissions) {
    SasGrant grant;
    grant.permissions = permissions;
    grant.expiry = absl::Now() + absl::Hours(1);
    grant.protocol = "https,http";
    return grant;
  }

  static AzureSharedKey Key() {
    return *MakeSharedKey(kDevelopmentAccountName, kDevelopmentAccountKey);
  }

  // Every operation of the store, on a store that may do all of them.
  static void ExpectEveryOperationWorks(ObjectStore& store) {
    ASSERT_TRUE(WriteObject(store, "d/a", "alpha").ok());
    EXPECT_EQ(*ReadObject(store, "d/a"), "alpha");
    EXPECT_EQ(store.Stat("d/a")->size, 5);
    ASSERT_TRUE(store.Copy("d/a", "d/b").ok());
    EXPECT_EQ(store.List("d/")->size(), 2u);
    ASSERT_TRUE(store.Delete("d/a").ok());
    EXPECT_EQ(*ReadObject(store, "d/b"), "alpha");
  }
};

TEST_F(AzureBlobAuthTest, SharedKeyIsAccepted) {
  auto store = OpenWith(azurite_->account());
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectEveryOperationWorks(**store);
}

TEST_F(AzureBlobAuthTest, ConnectionStringIsAccepted) {
  auto account = ParseConnectionString(absl::StrCat(
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=",
      kDevelopmentAccountKey, ";BlobEndpoint=", azurite_->account().blob_endpoint, "/;"));
  ASSERT_TRUE(account.ok()) << account.status();
  auto store = OpenWith(*account);
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectEveryOperationWorks(**store);
}

TEST_F(AzureBlobAuthTest, WrongKeyIsRefusedClearly) {
  AzureStorageAccount account = azurite_->account();
  account.account_key = "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXk=";
  auto store = OpenWith(account);
  ASSERT_EQ(store.status().code(), absl::StatusCode::kPermissionDenied) << store.status();
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr(absl::StrCat("Azure Blob refused GET devstoreaccount1/", container_,
                                     ": 403 ")));
  // Azure says AuthenticationFailed, Azurite AuthorizationFailure: either way the key is named.
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("check the account key or SAS"));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("failed to authenticate"));
}

TEST_F(AzureBlobAuthTest, MissingContainerIsNotFound) {
  container_ = "no-such-container";
  auto store = OpenWith(azurite_->account());
  ASSERT_EQ(store.status().code(), absl::StatusCode::kNotFound) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("404 ContainerNotFound"));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("create the container first"));
}

TEST_F(AzureBlobAuthTest, AccountSasIsAccepted) {
  auto sas = MakeAccountSas(Key(), Grant({true, true, true, true, true, true}));
  ASSERT_TRUE(sas.ok()) << sas.status();
  auto store = OpenWith(WithSas(*sas));
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectEveryOperationWorks(**store);
}

TEST_F(AzureBlobAuthTest, ContainerSasIsAccepted) {
  auto sas = MakeContainerSas(Key(), container_, Grant({true, true, true, true, true, true}));
  ASSERT_TRUE(sas.ok()) << sas.status();
  auto store = OpenWith(WithSas(*sas));
  ASSERT_TRUE(store.ok()) << store.status();
  ExpectEveryOperationWorks(**store);
}

TEST_F(AzureBlobAuthTest, SasWithoutWriteCannotWrite) {
  auto writer_store = *OpenWith(azurite_->account());
  ASSERT_TRUE(WriteObject(*writer_store, "existing", "data").ok());
  SasPermissions read_and_list;
  read_and_list.read = true;
  read_and_list.list = true;
  for (const std::string& sas : {*MakeAccountSas(Key(), Grant(read_and_list)),
                                 *MakeContainerSas(Key(), container_, Grant(read_and_list))}) {
    auto store = OpenWith(WithSas(sas));
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(*ReadObject(**store, "existing"), "data");
    absl::Status written = WriteObject(**store, "new", "data");
    ASSERT_EQ(written.code(), absl::StatusCode::kPermissionDenied) << written;
    EXPECT_THAT(std::string(written.message()), HasSubstr(absl::StrCat("Azure Blob refused PUT devstoreaccount1/",
                                                          container_, "/new: 403")));
    EXPECT_THAT(std::string(written.message()), HasSubstr("does not grant this operation"));
    EXPECT_EQ((*store)->Delete("existing").code(), absl::StatusCode::kPermissionDenied);
  }
}

TEST_F(AzureBlobAuthTest, ExpiredOrForeignSasIsRefused) {
  SasGrant expired = Grant({true, true, true, true, true, true});
  expired.start = absl::Now() - absl::Hours(2);
  expired.expiry = absl::Now() - absl::Hours(1);
  auto store = OpenWith(WithSas(*MakeContainerSas(Key(), container_, expired)));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kPermissionDenied) << store.status();

  auto other = MakeContainerSas(Key(), "another-container", Grant({true, true, true, true, true, true}));
  store = OpenWith(WithSas(*other));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kPermissionDenied) << store.status();
}

}  // namespace
}  // namespace trenode::adapters::azure
