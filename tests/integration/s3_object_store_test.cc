// The S3 store against s3rver behind a proxy that checks each signature on
// its own (tests/emulators/sigv4_proxy.py): refused credentials say why,
// throttling is retried, a dropped upload leaves nothing, and temporary
// credentials from the container and instance endpoints are refreshed.
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "adapters/aws/aws_credentials.h"
#include "adapters/aws/s3_object_store.h"
#include "gtest/gtest.h"
#include "tests/testutil/s3_emulator.h"

namespace trenode::adapters::aws {
namespace {

using testing::S3Emulator;

class S3ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator_ = S3Emulator::Get();
    ASSERT_NE(emulator_, nullptr);
    auto options = emulator_->NewBucket();
    ASSERT_TRUE(options.ok()) << options.status();
    options_ = *options;
  }
  void TearDown() override {
    if (emulator_ != nullptr) {
      EXPECT_TRUE(emulator_->Control(R"({"throttle": 0, "drop_uploads": 0})").ok());
    }
  }

  std::unique_ptr<S3ObjectStore> Store(std::shared_ptr<AwsCredentialsProvider> credentials,
                                       S3Options options) {
    auto store = S3ObjectStore::Open(std::move(options), std::move(credentials));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::unique_ptr<S3ObjectStore> Store(AwsCredentials credentials) {
    return Store(StaticCredentials(std::move(credentials)), options_);
  }
  std::unique_ptr<S3ObjectStore> Store() {
    return Store({S3Emulator::kAccessKey, S3Emulator::kSecret, ""});
  }
  int64_t Counter(const std::string& name) { return emulator_->Counter(name).value_or(-1); }

  S3Emulator* emulator_ = nullptr;
  S3Options options_;
};

TEST_F(S3ObjectStoreTest, RefusedCredentialsAreRefusedAndTheErrorSaysWhy) {
  absl::Status wrong_secret =
      WriteObject(*Store({S3Emulator::kAccessKey, "not-the-secret", ""}), "k", "v");
  EXPECT_EQ(wrong_secret.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(wrong_secret.message(),
                                absl::StrCat("S3 refused PUT s3://", options_.bucket,
                                             "/k: 403 SignatureDoesNotMatch")))
      << wrong_secret;
  absl::Status unknown_key = WriteObject(*Store({"AKIAUNKNOWN", S3Emulator::kSecret, ""}), "k", "v");
  EXPECT_EQ(unknown_key.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(unknown_key.message(), "403 InvalidAccessKeyId")) << unknown_key;
  // Nothing was written by either.
  EXPECT_EQ(Store()->Stat("k").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(S3ObjectStoreTest, EncryptionHeadersAreSentAndSigned) {
  options_.server_side_encryption = "AES256";
  auto store = Store(StaticCredentials({S3Emulator::kAccessKey, S3Emulator::kSecret, ""}), options_);
  ASSERT_TRUE(WriteObject(*store, "secret/k", "v").ok());
  EXPECT_TRUE(absl::StrContains(emulator_->State().value_or(""),
                                "\"x-amz-content-sha256\", \"x-amz-date\", "
                                "\"x-amz-server-side-encryption\""))
      << emulator_->State().value_or("");
  EXPECT_EQ(*ReadObject(*store, "secret/k"), "v");
  options_.kms_key_id = "arn:aws:kms:eu-west-2:111122223333:key/x";
  EXPECT_EQ(S3ObjectStore::Open(options_, StaticCredentials({"a", "b", ""})).status().code(),
            absl::StatusCode::kInvalidArgument);  // a KMS key needs aws:kms
}

TEST_F(S3ObjectStoreTest, ThrottlingIsRetriedUntilItPasses) {
  auto store = Store();
  int64_t before = Counter("throttled");
  ASSERT_TRUE(emulator_->Control(R"({"throttle": 3})").ok());
  ASSERT_TRUE(WriteObject(*store, "busy", "written in the end").ok());
  EXPECT_EQ(Counter("throttled") - before, 3);
  EXPECT_EQ(*ReadObject(*store, "busy"), "written in the end");

  // Throttling that outlasts the policy ends Unavailable, saying so.
  ASSERT_TRUE(emulator_->Control(R"({"throttle": 100})").ok());
  absl::Status gave_up = WriteObject(*store, "busier", "never");
  EXPECT_EQ(gave_up.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(gave_up.message(), "503 SlowDown")) << gave_up;
}

TEST_F(S3ObjectStoreTest, AConnectionDroppedMidUploadLeavesNoObject) {
  auto store = Store();
  int64_t aborted = Counter("aborted_uploads");
  std::string part(options_.part_size, 'p');
  {
    auto writer = store->OpenWrite("multi");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(part).ok());
    ASSERT_TRUE((*writer)->Append("x").ok());  // the first part is now uploaded
    ASSERT_TRUE(emulator_->Control(R"({"drop_uploads": 100})").ok());
    absl::Status cut = (*writer)->Append(part);
    if (cut.ok()) cut = (*writer)->Commit();
    EXPECT_EQ(cut.code(), absl::StatusCode::kUnavailable) << cut;
    EXPECT_EQ((*writer)->Commit().code(), absl::StatusCode::kFailedPrecondition);
    ASSERT_TRUE(emulator_->Control(R"({"drop_uploads": 0})").ok());
  }  // the writer aborts its multipart upload
  EXPECT_EQ(store->Stat("multi").status().code(), absl::StatusCode::kNotFound);
  {
    auto writer = store->OpenWrite("single");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append("small").ok());
    ASSERT_TRUE(emulator_->Control(R"({"drop_uploads": 100})").ok());
    EXPECT_EQ((*writer)->Commit().code(), absl::StatusCode::kUnavailable);
    ASSERT_TRUE(emulator_->Control(R"({"drop_uploads": 0})").ok());
  }
  EXPECT_EQ(store->Stat("single").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store->List("")->empty());
  // The multipart upload was aborted, not left to be billed.
  EXPECT_EQ(Counter("aborted_uploads") - aborted, 1);
}

std::string Pattern(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 131 % 251);
  return data;
}

TEST_F(S3ObjectStoreTest, ADroppedDownloadResumesWhereItStopped) {
  auto store = Store();
  std::string data = Pattern(3 << 20);
  ASSERT_TRUE(WriteObject(*store, "long", data).ok());
  int64_t cut = Counter("cut");
  int64_t ranged = Counter("ranged");
  ASSERT_TRUE(emulator_->Control(R"({"cut_downloads": 1})").ok());
  auto read = ReadObject(*store, "long");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == data) << "read " << read->size() << " bytes";
  EXPECT_EQ(Counter("cut") - cut, 1);
  EXPECT_EQ(Counter("ranged") - ranged, 1);  // resumed once, from where it stopped
}

TEST_F(S3ObjectStoreTest, AReadLargerThanTheStreamBufferReturns) {
  auto store = Store();
  std::string data = Pattern(3 << 20);
  ASSERT_TRUE(WriteObject(*store, "big", data).ok());
  auto reader = store->OpenRead("big");
  ASSERT_TRUE(reader.ok());
  auto all = (*reader)->Read(4 << 20);  // more than is buffered before pausing
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(*all == data) << all->size();
}

TEST_F(S3ObjectStoreTest, PlainHttpIsRefusedExceptToThisHost) {
  for (const char* endpoint : {"http://minio.internal:9000", "http://localhost.evil.example:80",
                               "ftp://127.0.0.1:21"}) {
    options_.endpoint = endpoint;
    auto store = S3ObjectStore::Open(options_, StaticCredentials({"a", "b", ""}));
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << endpoint;
  }
  for (const char* endpoint : {"https://minio.internal:9000", "http://127.0.0.1:9000",
                               "http://s3.localhost:1"}) {
    options_.endpoint = endpoint;
    EXPECT_TRUE(S3ObjectStore::Open(options_, StaticCredentials({"a", "b", ""})).ok()) << endpoint;
  }
}

TEST_F(S3ObjectStoreTest, TheContainerTokenGoesOnlyToTheAgentsAddressesOrHttps) {
  EnvironmentLookup elsewhere = [](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_CONTAINER_CREDENTIALS_FULL_URI") return "http://attacker.example/creds";
    if (name == "AWS_CONTAINER_AUTHORIZATION_TOKEN") return "container-token";
    if (name == "AWS_SHARED_CREDENTIALS_FILE") return "/nonexistent/credentials";
    return std::nullopt;
  };
  auto chain = DefaultCredentialsChain(elsewhere);
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kUnauthenticated);
}

// Reads `reader` to its end from `total` bytes in, expecting only the bytes
// of `version`; the status it ended with (OK at the end), `total` advanced.
absl::Status ReadOnComparing(ObjectReader& reader, const std::string& version, size_t& total) {
  while (true) {
    auto bytes = reader.Read(1 << 20);
    if (!bytes.ok()) return bytes.status();
    if (bytes->empty()) return absl::OkStatus();
    EXPECT_TRUE(*bytes == version.substr(total, bytes->size()))
        << "bytes of the new version were mixed in at " << total;
    total += bytes->size();
  }
}

TEST_F(S3ObjectStoreTest, AReaderNeverMixesTwoVersionsOfAnObject) {
  auto store = Store();
  const std::string old_version = Pattern(3 << 20);
  ASSERT_TRUE(WriteObject(*store, "versioned", old_version).ok());
  ASSERT_TRUE(emulator_->Control(R"({"cut_downloads": 1})").ok());
  auto reader = store->OpenRead("versioned");
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*reader)->Read(1 << 16).ok());
  ASSERT_TRUE(WriteObject(*store, "versioned", std::string(3 << 20, 'n')).ok());
  size_t total = 1 << 16;
  absl::Status ended = ReadOnComparing(**reader, old_version, total);
  EXPECT_EQ(ended.code(), absl::StatusCode::kAborted) << ended << " after " << total << " bytes";
  EXPECT_TRUE(absl::StrContains(ended.message(), "was replaced while being read")) << ended;
}

// A store that ignores If-Match answers the resumed read with the new
// version: the reader sees the ETag change and still mixes nothing.
TEST_F(S3ObjectStoreTest, AStoreIgnoringIfMatchStillNeverMixesVersions) {
  ASSERT_TRUE(emulator_->Control(R"({"ignore_if_match": true})").ok());
  auto store = Store();
  const std::string old_version = Pattern(3 << 20);
  ASSERT_TRUE(WriteObject(*store, "ignored", old_version).ok());
  ASSERT_TRUE(emulator_->Control(R"({"cut_downloads": 1})").ok());
  auto reader = store->OpenRead("ignored");
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*reader)->Read(1 << 16).ok());
  ASSERT_TRUE(WriteObject(*store, "ignored", std::string(3 << 20, 'n')).ok());
  size_t total = 1 << 16;
  absl::Status ended = ReadOnComparing(**reader, old_version, total);
  EXPECT_TRUE(emulator_->Control(R"({"ignore_if_match": false})").ok());
  EXPECT_EQ(ended.code(), absl::StatusCode::kAborted) << ended << " after " << total << " bytes";
}

// A store whose listing repeats its continuation token would page forever:
// the listing fails instead.
TEST_F(S3ObjectStoreTest, AListingThatRepeatsItsTokenFailsRatherThanLoops) {
  auto store = Store();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(WriteObject(*store, absl::StrCat("k", i), "x").ok());
  ASSERT_TRUE(emulator_->Control(R"({"repeat_token": 1})").ok());
  auto listed = store->List("");
  EXPECT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kUnavailable) << listed.status();
  EXPECT_TRUE(emulator_->Control(R"({"repeat_token": 0})").ok());
  auto again = store->List("");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->size(), 20u);
}

TEST_F(S3ObjectStoreTest, ContainerCredentialsAreFetchedAgainWhenTheyLapse) {
  ASSERT_TRUE(emulator_->Control(R"({"credential_lifetime": 1})").ok());
  std::string endpoint = emulator_->endpoint();
  EnvironmentLookup environment = [&](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_CONTAINER_CREDENTIALS_FULL_URI") return endpoint + "/__container_credentials";
    if (name == "AWS_CONTAINER_AUTHORIZATION_TOKEN") return "container-token";
    if (name == "AWS_SHARED_CREDENTIALS_FILE") return "/nonexistent/credentials";
    return std::nullopt;
  };
  auto chain = DefaultCredentialsChain(environment);
  ASSERT_TRUE(chain.ok()) << chain.status();
  std::shared_ptr<AwsCredentialsProvider> provider = *std::move(chain);
  EXPECT_TRUE(absl::StartsWith(provider->Source(), "container endpoint")) << provider->Source();
  auto store = Store(provider, options_);
  int64_t minted = Counter("minted");
  int64_t refused = Counter("refused");
  ASSERT_TRUE(WriteObject(*store, "a", "1").ok());
  absl::StatusOr<AwsCredentials> first = provider->Get();
  ASSERT_TRUE(first.ok());
  absl::SleepFor(absl::Milliseconds(1500));  // the first key has lapsed
  // Those same credentials are refused now...
  EXPECT_EQ(WriteObject(*Store(*first), "stale", "x").code(), absl::StatusCode::kPermissionDenied);
  // ...but the provider fetches fresh ones, and the write goes through.
  ASSERT_TRUE(WriteObject(*store, "b", "2").ok());
  EXPECT_GE(Counter("minted") - minted, 2);
  EXPECT_EQ(Counter("refused") - refused, 1);  // only the stale write
  ASSERT_TRUE(emulator_->Control(R"({"credential_lifetime": 3600})").ok());

  // The container token is checked: a wrong one is an error naming the endpoint.
  EnvironmentLookup wrong_token = [&](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_CONTAINER_AUTHORIZATION_TOKEN") return "wrong";
    return environment(name);
  };
  absl::StatusOr<AwsCredentials> refused_fetch = (*DefaultCredentialsChain(wrong_token))->Get();
  EXPECT_FALSE(refused_fetch.ok());
  EXPECT_TRUE(absl::StrContains(refused_fetch.status().message(), "403")) << refused_fetch.status();
}

TEST_F(S3ObjectStoreTest, InstanceCredentialsComeThroughImdsV2) {
  std::string endpoint = emulator_->endpoint();
  EnvironmentLookup environment = [&](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_EC2_METADATA_SERVICE_ENDPOINT") return endpoint;
    if (name == "AWS_SHARED_CREDENTIALS_FILE") return "/nonexistent/credentials";
    return std::nullopt;
  };
  auto chain = DefaultCredentialsChain(environment);
  ASSERT_TRUE(chain.ok()) << chain.status();
  std::shared_ptr<AwsCredentialsProvider> provider = *std::move(chain);
  auto store = Store(provider, options_);
  // The metadata service answers 401 to any request without an IMDSv2 token.
  ASSERT_TRUE(WriteObject(*store, "from-instance", "ok").ok());
  absl::StatusOr<AwsCredentials> credentials = provider->Get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_TRUE(absl::StartsWith(credentials->access_key_id, "ASIATEMPORARY"));
  EXPECT_FALSE(credentials->session_token.empty());
}

TEST_F(S3ObjectStoreTest, VirtualHostedAddressingReachesTheSameBucket) {
  ASSERT_TRUE(WriteObject(*Store(), "where", "here").ok());
  options_.path_style = false;
  options_.endpoint = absl::StrReplaceAll(emulator_->endpoint(), {{"127.0.0.1", "s3.localhost"}});
  auto virtual_hosted = Store(StaticCredentials({S3Emulator::kAccessKey, S3Emulator::kSecret, ""}),
                              options_);
  auto read = ReadObject(*virtual_hosted, "where");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "here");
}

TEST_F(S3ObjectStoreTest, ObjectsOverCopyObjectsLimitAreCopiedByStreaming) {
  options_.max_copy_object_bytes = 6 << 20;
  auto store = Store(StaticCredentials({S3Emulator::kAccessKey, S3Emulator::kSecret, ""}), options_);
  const std::string small(1 << 20, 's');
  std::string large(7 << 20, 'l');
  large[12345] = 'x';
  ASSERT_TRUE(WriteObject(*store, "small", small).ok());
  ASSERT_TRUE(WriteObject(*store, "large", large).ok());
  const int64_t copies = Counter("copies");
  ASSERT_TRUE(store->Copy("small", "small-copy").ok());
  EXPECT_EQ(Counter("copies"), copies + 1);  // one CopyObject
  ASSERT_TRUE(store->Copy("large", "large-copy").ok());
  EXPECT_EQ(Counter("copies"), copies + 1);  // streamed, no CopyObject
  EXPECT_EQ(ReadObject(*store, "small-copy").value_or(""), small);
  EXPECT_EQ(ReadObject(*store, "large-copy").value_or(""), large);
}

TEST_F(S3ObjectStoreTest, APresignedUrlReachesOnlyItsObjectAndLapses) {
  auto store = Store();
  ASSERT_TRUE(WriteObject(*store, "mine", "my bytes").ok());
  ASSERT_TRUE(WriteObject(*store, "other", "not yours").ok());
  auto get = store->PresignGet("mine", absl::Seconds(2));
  ASSERT_TRUE(get.ok()) << get.status();
  cloud::HttpClient http;
  auto fetched = http.Send({"GET", get->url, {}, ""});
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->status, 200);
  EXPECT_EQ(fetched->body, "my bytes");
  // The same signature on another key, or as a PUT, is refused.
  auto other = http.Send({"GET", absl::StrReplaceAll(get->url, {{"/mine?", "/other?"}}), {}, ""});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 403);
  auto put = http.Send({"PUT", get->url, {}, "overwritten"});
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->status, 403);
  EXPECT_EQ(ReadObject(*store, "mine").value_or(""), "my bytes");
  absl::SleepFor(absl::Seconds(3));
  auto lapsed = http.Send({"GET", get->url, {}, ""});
  ASSERT_TRUE(lapsed.ok());
  EXPECT_EQ(lapsed->status, 403);
  EXPECT_EQ(store->PresignGet("mine", absl::Hours(24 * 8)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace trenode::adapters::aws
