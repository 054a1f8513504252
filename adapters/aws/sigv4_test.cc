// SigV4 against AWS's own test suite (tests/testdata/aws-sig-v4-test-suite)
// and the S3 API reference's worked examples, byte for byte.
#include "adapters/aws/sigv4.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "adapters/cloud/digest.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace trenode::adapters::aws {
namespace {

using cloud::HttpRequest;
using google::protobuf::Struct;
using google::protobuf::Value;

absl::Time At(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

Struct Suite() {
  std::ifstream in(std::filesystem::path(TRENODE_SOURCE_DIR) /
                   "tests/testdata/aws-sig-v4-test-suite/index.json");
  std::stringstream text;
  text << in.rdbuf();
  Struct json;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text.str(), &json).ok());
  return json;
}

std::string Text(const Struct& object, const std::string& field) {
  auto it = object.fields().find(field);
  return it == object.fields().end() ? "" : it->second.string_value();
}

HttpRequest RequestOf(const Struct& test) {
  const Struct& raw = test.fields().at("request").struct_value();
  HttpRequest request;
  request.method = Text(raw, "method");
  request.url = absl::StrCat("https://example.amazonaws.com", Text(raw, "uri"));
  request.body = Text(raw, "body");
  for (const Value& header : raw.fields().at("headers").list_value().values()) {
    request.headers.push_back({header.list_value().values(0).string_value(),
                               header.list_value().values(1).string_value()});
  }
  return request;
}

// The Authorization header as the case's signed request (sreq) carries it.
std::string SignedRequestAuthorization(const Struct& test) {
  for (absl::string_view line : absl::StrSplit(Text(test, "sreq"), '\n')) {
    if (absl::ConsumePrefix(&line, "Authorization: ")) return std::string(line);
  }
  return "";
}

// In two cases the package's parsed request and canonical request differ from
// AWS's originals, whose string to sign and signature it kept: the originals
// send no Content-Length, and the second says "charset=utf8". The suite's own
// data shows it: the canonical request's hash is not the one in the string to
// sign. Those cases are checked against both: the package's canonical request
// for its request, and AWS's signature for AWS's request.
bool SelfConsistent(const Struct& test) {
  std::vector<std::string> sts = absl::StrSplit(Text(test, "sts"), '\n');
  return sts.size() == 4 && sts[3] == cloud::Hex(cloud::Sha256(Text(test, "creq")));
}

HttpRequest AwsOriginal(HttpRequest request) {
  std::vector<cloud::HttpHeader> kept;
  for (cloud::HttpHeader& header : request.headers) {
    if (header.name == "Content-Length") continue;
    absl::StrReplaceAll({{"charset=utf-8", "charset=utf8"}}, &header.value);
    kept.push_back(header);
  }
  request.headers = kept;
  return request;
}

TEST(SigV4Test, ReproducesEveryCaseOfTheAwsTestSuite) {
  Struct suite = Suite();
  const Struct& config = suite.fields().at("config").struct_value();
  AwsCredentials credentials{Text(config, "accessKeyId"), Text(config, "secretAccessKey"), ""};
  SigV4Scope scope{Text(config, "region"), Text(config, "service")};
  const absl::Time when = At(2015, 8, 30, 12, 36, 0);
  const auto& cases = suite.fields().at("tests").struct_value().fields().at("all").list_value();
  ASSERT_EQ(cases.values_size(), 28);
  std::vector<std::string> inconsistent;
  for (const Value& value : cases.values()) {
    const Struct& test = value.struct_value();
    std::string name = Text(test, "name");
    SCOPED_TRACE(name);
    HttpRequest request = RequestOf(test);
    SigV4Rules rules;
    AwsCredentials as = credentials;
    if (absl::StartsWith(name, "post-sts-header-")) {
      as.session_token = suite.fields().at("stsToken").string_value();
      rules.sign_session_token = name == "post-sts-header-before";
    }
    absl::StatusOr<SigV4Parts> parts = SignRequest(request, as, scope, when, rules);
    ASSERT_TRUE(parts.ok()) << parts.status();
    EXPECT_EQ(parts->canonical_request, Text(test, "creq"));
    if (!SelfConsistent(test)) {
      inconsistent.push_back(name);
      request = AwsOriginal(RequestOf(test));
      parts = SignRequest(request, as, scope, when, rules);
      ASSERT_TRUE(parts.ok()) << parts.status();
      EXPECT_EQ(request.Header("authorization").value_or(""), SignedRequestAuthorization(test));
    } else {
      EXPECT_EQ(request.Header("authorization").value_or(""), Text(test, "authz"));
      EXPECT_EQ(request.Header("authorization").value_or(""), SignedRequestAuthorization(test));
    }
    EXPECT_EQ(parts->string_to_sign, Text(test, "sts"));
    if (!as.session_token.empty()) {
      EXPECT_TRUE(absl::StrContains(Text(test, "sreq"),
                                    absl::StrCat("X-Amz-Security-Token:", as.session_token)));
      EXPECT_EQ(request.Header("x-amz-security-token").value_or(""), as.session_token);
    }
  }
  EXPECT_EQ(inconsistent, (std::vector<std::string>{"post-x-www-form-urlencoded",
                                                     "post-x-www-form-urlencoded-parameters"}));
}

// The S3 API reference, "Examples: Signature calculations" (header-based
// authentication, and the presigned URL example).
constexpr char kS3Key[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kS3Secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string SignatureOf(HttpRequest request) {
  absl::StatusOr<SigV4Parts> parts = SignRequest(request, {kS3Key, kS3Secret, ""},
                                                 {"us-east-1", "s3"}, At(2013, 5, 24, 0, 0, 0),
                                                 {.s3_paths = true});
  EXPECT_TRUE(parts.ok()) << parts.status();
  return parts.ok() ? parts->signature : "";
}

TEST(SigV4Test, ReproducesTheS3ReferenceExamples) {
  HttpRequest get{"GET", "https://examplebucket.s3.amazonaws.com/test.txt",
                  {{"Host", "examplebucket.s3.amazonaws.com"},
                   {"Range", "bytes=0-9"},
                   {"x-amz-content-sha256", kEmptySha}},
                   ""};
  EXPECT_EQ(SignatureOf(get), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

  HttpRequest put{"PUT", "https://examplebucket.s3.amazonaws.com/test%24file.text",
                  {{"Host", "examplebucket.s3.amazonaws.com"},
                   {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                   {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                   {"x-amz-content-sha256",
                    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"}},
                  "Welcome to Amazon S3."};
  EXPECT_EQ(SignatureOf(put), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");

  HttpRequest lifecycle{"GET", "https://examplebucket.s3.amazonaws.com/?lifecycle",
                        {{"Host", "examplebucket.s3.amazonaws.com"},
                         {"x-amz-content-sha256", kEmptySha}},
                   ""};
  EXPECT_EQ(SignatureOf(lifecycle),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");

  HttpRequest list{"GET", "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
                   {{"Host", "examplebucket.s3.amazonaws.com"},
                    {"x-amz-content-sha256", kEmptySha}},
                   ""};
  EXPECT_EQ(SignatureOf(list), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");

  absl::StatusOr<std::string> presigned =
      PresignUrl("GET", "https://examplebucket.s3.amazonaws.com/test.txt", {kS3Key, kS3Secret, ""},
                 {"us-east-1", "s3"}, At(2013, 5, 24, 0, 0, 0), absl::Hours(24));
  ASSERT_TRUE(presigned.ok()) << presigned.status();
  EXPECT_EQ(*presigned,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4Test, AnyChangeToASignedPartChangesTheSignature) {
  HttpRequest base{"PUT", "https://b.s3.amazonaws.com/k",
                   {{"x-amz-content-sha256", kEmptySha}, {"x-amz-server-side-encryption", "AES256"}},
                   ""};
  std::string signature = SignatureOf(base);
  HttpRequest other_key = base;
  other_key.url = "https://b.s3.amazonaws.com/l";
  HttpRequest other_header = base;
  other_header.headers[1].value = "aws:kms";
  HttpRequest other_host = base;
  other_host.url = "https://c.s3.amazonaws.com/k";
  for (const HttpRequest& changed : {other_key, other_header, other_host}) {
    EXPECT_NE(SignatureOf(changed), signature) << changed.url;
  }
}

TEST(SigV4Test, BadUrlsAndLifetimesAreRefused) {
  HttpRequest relative{"GET", "/no/host", {}, ""};
  EXPECT_EQ(SignRequest(relative, {"a", "b", ""}, {"r", "s3"}, absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PresignUrl("GET", "https://h/k", {"a", "b", ""}, {"r", "s3"}, absl::Now(),
                       absl::Hours(24 * 8))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace trenode::adapters::aws
