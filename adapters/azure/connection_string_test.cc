#include "adapters/azure/connection_string.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trenode::adapters::azure {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "a2V5IGJ5dGVz";  // base64 of "key bytes"

TEST(ConnectionStringTest, AccountKeyWithDefaultSuffix) {
  auto account = ParseConnectionString(
      absl::StrCat("DefaultEndpointsProtocol=https;AccountName=tre1;AccountKey=", kKey));
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->blob_endpoint, "https://tre1.blob.core.windows.net");
  EXPECT_EQ(account->account_name, "tre1");
  EXPECT_EQ(account->account_key, kKey);
  EXPECT_EQ(account->sas, "");
}

TEST(ConnectionStringTest, SovereignCloudSuffixAndKeyPadding) {
  auto account = ParseConnectionString(
      "AccountName=tre1;AccountKey=a2V5cw==;EndpointSuffix=core.chinacloudapi.cn;");
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->blob_endpoint, "https://tre1.blob.core.chinacloudapi.cn");
  EXPECT_EQ(account->account_key, "a2V5cw==");
}

TEST(ConnectionStringTest, BlobEndpointWithSas) {
  auto account = ParseConnectionString(
      "BlobEndpoint=https://tre1.blob.core.windows.net/;QueueEndpoint=https://q;"
      "SharedAccessSignature=?sv=2021-08-06&sr=c&sp=rl&sig=abc%3D");
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->blob_endpoint, "https://tre1.blob.core.windows.net");
  EXPECT_EQ(account->sas, "sv=2021-08-06&sr=c&sp=rl&sig=abc%3D");
  EXPECT_EQ(account->account_key, "");
}

TEST(ConnectionStringTest, DevelopmentStorage) {
  auto account = ParseConnectionString("UseDevelopmentStorage=true");
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(account->account_name, "devstoreaccount1");
  EXPECT_EQ(account->account_key, kDevelopmentAccountKey);
}

TEST(ConnectionStringTest, FieldNamesIgnoreCase) {
  auto account = ParseConnectionString(absl::StrCat("accountname=tre1;ACCOUNTKEY=", kKey));
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->account_name, "tre1");
}

void ExpectRefused(absl::string_view connection_string, absl::string_view naming) {
  auto account = ParseConnectionString(connection_string);
  ASSERT_EQ(account.status().code(), absl::StatusCode::kInvalidArgument) << connection_string;
  EXPECT_THAT(account.status().message(), HasSubstr(naming)) << connection_string;
  EXPECT_THAT(account.status().message(), Not(HasSubstr(kKey)));
}

TEST(ConnectionStringTest, ErrorsNameTheField) {
  ExpectRefused("AccountName=tre1", "neither AccountKey nor SharedAccessSignature");
  ExpectRefused(absl::StrCat("AccountKey=", kKey), "AccountKey needs AccountName");
  ExpectRefused("AccountName=tre1;AccountKey=not*base64", "AccountKey is not base64");
  ExpectRefused(absl::StrCat("AccountName=tre1;AccountKey=", kKey, ";SharedAccessSignature=sig=x"),
                "both AccountKey and SharedAccessSignature");
  ExpectRefused(absl::StrCat("AccountName=tre1;AccountName=tre2;AccountKey=", kKey),
                "AccountName is given twice");
  ExpectRefused(absl::StrCat("AccountName=tre1;AcountKey=", kKey), "unknown field AcountKey");
  ExpectRefused(absl::StrCat("DefaultEndpointsProtocol=ftp;AccountName=t;AccountKey=", kKey),
                "DefaultEndpointsProtocol must be https or http");
  ExpectRefused("BlobEndpoint=tre1.blob.core.windows.net;SharedAccessSignature=sig=x",
                "BlobEndpoint must start with https://");
  ExpectRefused("SharedAccessSignature=sv=1&sig=x", "needs AccountName or BlobEndpoint");
  ExpectRefused("BlobEndpoint=https://x;SharedAccessSignature=sv=1", "no sig= field");
  ExpectRefused("UseDevelopmentStorage=false", "UseDevelopmentStorage must be true");
  ExpectRefused("UseDevelopmentStorage=true;AccountName=x", "takes no other fields");
  ExpectRefused("AccountName", "is not Name=value");
}

}  // namespace
}  // namespace trenode::adapters::azure
