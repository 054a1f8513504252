// SAS tokens: fields and signatures as the "Create an account SAS" and
// "Create a service SAS" layouts (version 2020-12-06 and later) give them,
// signatures computed independently (Python's hmac over the documented
// string to sign). Azurite accepting them is azure_blob_auth_test.
#include "adapters/azure/sas.h"

#include "absl/time/civil_time.h"
#include "adapters/azure/connection_string.h"
#include "gtest/gtest.h"

namespace trenode::adapters::azure {
namespace {

SasGrant ReadAndList() {
  SasGrant grant;
  grant.permissions.read = true;
  grant.permissions.list = true;
  grant.expiry = absl::FromCivil(absl::CivilSecond(2030, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  grant.protocol = "https,http";
  return grant;
}

AzureSharedKey DevKey() { return *MakeSharedKey(kDevelopmentAccountName, kDevelopmentAccountKey); }

TEST(SasTest, AccountSas) {
  EXPECT_EQ(*MakeAccountSas(DevKey(), ReadAndList()),
            "sv=2021-08-06&ss=b&srt=sco&sp=rl&se=2030-01-01T00%3A00%3A00Z&spr=https%2Chttp"
            "&sig=vDMcyw3ZlebJO5%2BzeUI5GFTFTx%2B1XDXzVVIoXUDAJBQ%3D");
}

TEST(SasTest, ContainerSas) {
  EXPECT_EQ(*MakeContainerSas(DevKey(), "box", ReadAndList()),
            "sv=2021-08-06&sr=c&sp=rl&se=2030-01-01T00%3A00%3A00Z&spr=https%2Chttp"
            "&sig=r%2FK8prAt81%2BohHxeX%2B1RZOioocoReRzeNJynK5mm1dY%3D");
}

TEST(SasTest, BlobSasSignsTheBlobsNameUnencoded) {
  SasGrant read = ReadAndList();
  read.permissions.list = false;
  EXPECT_EQ(*MakeBlobSas(DevKey(), "box", "dir/a b", read),
            "sv=2021-08-06&sr=b&sp=r&se=2030-01-01T00%3A00%3A00Z&spr=https%2Chttp"
            "&sig=gyLRPhG%2FanvMW2Pqp3qeUhWI2STx%2B47WbqIVUOOxq9E%3D");
  EXPECT_EQ(MakeBlobSas(DevKey(), "box", "a", ReadAndList()).status().code(),
            absl::StatusCode::kInvalidArgument);  // no list on a blob
  EXPECT_EQ(MakeBlobSas(DevKey(), "box", "", read).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SasTest, PermissionsAreWrittenInEachKindsOrder) {
  SasGrant grant = ReadAndList();
  grant.permissions = {true, true, true, true, true, true};
  EXPECT_NE(MakeAccountSas(DevKey(), grant)->find("sp=rwdlac&"), std::string::npos);
  EXPECT_NE(MakeContainerSas(DevKey(), "box", grant)->find("sp=racwdl&"), std::string::npos);
}

TEST(SasTest, BadGrantsAreRefused) {
  SasGrant none = ReadAndList();
  none.permissions = {};
  EXPECT_EQ(MakeAccountSas(DevKey(), none).status().code(), absl::StatusCode::kInvalidArgument);
  SasGrant backwards = ReadAndList();
  backwards.start = backwards.expiry + absl::Hours(1);
  EXPECT_EQ(MakeAccountSas(DevKey(), backwards).status().code(),
            absl::StatusCode::kInvalidArgument);
  SasGrant plain_http = ReadAndList();
  plain_http.protocol = "http";
  EXPECT_EQ(MakeContainerSas(DevKey(), "box", plain_http).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeContainerSas(DevKey(), "", ReadAndList()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace trenode::adapters::azure
