// The Shared Key string to sign, built by the rules of "Authorize with Shared
// Key" (version 2015-02-21 and later), and its signature, computed
// independently (Python's hmac over the same string with the development
// account's key). Azurite checking real signatures is azure_blob_auth_test.
#include "adapters/azure/shared_key.h"

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace trenode::adapters::azure {
namespace {

constexpr char kKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

absl::Time October2009() {
  return absl::FromCivil(absl::CivilSecond(2009, 10, 11, 21, 49, 13), absl::UTCTimeZone());
}

cloud::HttpRequest PutBlock() {
  cloud::HttpRequest request;
  request.method = "PUT";
  request.url = "http://127.0.0.1:10000/devstoreaccount1/box/a/b.txt?comp=block&blockid=AAA%2B%2Fw%3D%3D";
  request.headers = {{"X-MS-Meta-Note", "  two   words "}};
  request.body = "hello";
  return request;
}

TEST(SharedKeyTest, StringToSignFollowsTheDocumentedLayout) {
  cloud::HttpRequest request = PutBlock();
  ASSERT_TRUE(SignWithSharedKey(request, *MakeSharedKey("devstoreaccount1", kKey), October2009())
                  .ok());
  // Verb; the eleven standard headers (Content-Length 5, the rest empty);
  // x-ms- headers lower-cased, sorted, whitespace folded; the resource (the
  // emulator's path names the account again) with decoded, sorted parameters.
  EXPECT_EQ(*SharedKeyStringToSign(request, "devstoreaccount1"),
            "PUT\n\n\n5\n\n\n\n\n\n\n\n\n"
            "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
            "x-ms-meta-note:two words\n"
            "x-ms-version:2021-08-06\n"
            "/devstoreaccount1/devstoreaccount1/box/a/b.txt\n"
            "blockid:AAA+/w==\n"
            "comp:block");
  EXPECT_EQ(request.Header("authorization"),
            "SharedKey devstoreaccount1:hb0oCoOzg8D650slEQTUPjuGQm3oOfPONzb6tgk+yZE=");
}

TEST(SharedKeyTest, ZeroLengthSignsAsEmptyAndConditionsAreSigned) {
  cloud::HttpRequest request;
  request.method = "get";
  request.url = "https://acct.blob.core.windows.net/c/k";
  request.headers = {{"Range", "bytes=10-"}, {"If-Match", "\"0x8D\""}, {"x-ms-date", "d"}};
  EXPECT_EQ(*SharedKeyStringToSign(request, "acct"),
            "GET\n\n\n\n\n\n\n\n\"0x8D\"\n\n\nbytes=10-\nx-ms-date:d\n/acct/c/k");
}

TEST(SharedKeyTest, RepeatedQueryParametersJoinSortedValues) {
  cloud::HttpRequest request{"GET", "https://acct.blob.core.windows.net/c?Include=snapshots&include=metadata&restype=container", {}, ""};
  EXPECT_EQ(*SharedKeyStringToSign(request, "acct"),
            "GET\n\n\n\n\n\n\n\n\n\n\n\n/acct/c\ninclude:metadata,snapshots\nrestype:container");
}

TEST(SharedKeyTest, SigningReplacesAnEarlierSignature) {
  cloud::HttpRequest request = PutBlock();
  AzureSharedKey key = *MakeSharedKey("devstoreaccount1", kKey);
  ASSERT_TRUE(SignWithSharedKey(request, key, October2009() - absl::Hours(1)).ok());
  ASSERT_TRUE(SignWithSharedKey(request, key, October2009()).ok());
  int authorizations = 0;
  for (const auto& header : request.headers) authorizations += header.name == "Authorization";
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(request.Header("x-ms-date"), "Sun, 11 Oct 2009 21:49:13 GMT");
}

TEST(SharedKeyTest, KeysThatAreNotBase64AreRefused) {
  EXPECT_EQ(MakeSharedKey("acct", "not base64!").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeSharedKey("acct", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeSharedKey("", kKey).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SharedKeyTest, BatchStringToSignFollowsItsOwnLayout) {
  // "Authenticate requests to Azure Batch": ocp- headers in place of x-ms-
  // ones, and Content-Length as curl sends it ("0" on a POST with no body).
  cloud::HttpRequest terminate{
      "POST",
      "https://trebatch.westeurope.batch.azure.com/jobs/j/tasks/t/terminate?api-version=2024-07-01.20.0",
      {{"Content-Type", "application/json; odata=minimalmetadata"}},
      ""};
  ASSERT_TRUE(SignBatchRequest(terminate, *MakeSharedKey("trebatch", kKey), October2009()).ok());
  EXPECT_EQ(*BatchSharedKeyStringToSign(terminate, "trebatch"),
            "POST\n\n\n0\n\napplication/json; odata=minimalmetadata\n\n\n\n\n\n\n"
            "ocp-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
            "/trebatch/jobs/j/tasks/t/terminate\napi-version:2024-07-01.20.0");
  cloud::HttpRequest get{"GET", "https://trebatch.westeurope.batch.azure.com/jobs/j?api-version=v",
                         {}, ""};
  EXPECT_EQ(*BatchSharedKeyStringToSign(get, "trebatch"),
            "GET\n\n\n\n\n\n\n\n\n\n\n\n/trebatch/jobs/j\napi-version:v");
  EXPECT_TRUE(terminate.Header("Authorization")->rfind("SharedKey trebatch:", 0) == 0);
}

}  // namespace
}  // namespace trenode::adapters::azure
