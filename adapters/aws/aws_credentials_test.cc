// The credential chain's order and its errors, with a test environment. (The
// container and instance endpoints are tested against a real server in
// tests/integration/s3_object_store_test.cc.)
#include "adapters/aws/aws_credentials.h"

#include <map>

#include "absl/strings/match.h"
#include "adapters/cloud/retry.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters::aws {
namespace {

EnvironmentLookup From(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AwsCredentialsTest, EnvironmentComesFirst) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "credentials", "[default]\naws_access_key_id = FILE\naws_secret_access_key = f\n");
  auto chain = DefaultCredentialsChain(From({{"AWS_ACCESS_KEY_ID", "ENV"},
                                             {"AWS_SECRET_ACCESS_KEY", "e"},
                                             {"AWS_SESSION_TOKEN", "t"},
                                             {"AWS_SHARED_CREDENTIALS_FILE", dir.File("credentials")}}));
  ASSERT_TRUE(chain.ok()) << chain.status();
  auto credentials = (*chain)->Get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->access_key_id, "ENV");
  EXPECT_EQ(credentials->session_token, "t");
  EXPECT_EQ((*chain)->Source(), "environment");

  auto half = DefaultCredentialsChain(From({{"AWS_ACCESS_KEY_ID", "ENV"}}));
  EXPECT_EQ(half.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(half.status().message(), "must be set together"));
}

TEST(AwsCredentialsTest, TheSharedFileGivesTheNamedProfile) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "credentials",
                     "# a comment\n[default]\naws_access_key_id=DEF\naws_secret_access_key=d\n\n"
                     "[trenode]\n aws_access_key_id = TRE \naws_secret_access_key = tre/secret+=\n"
                     "aws_session_token = tok\n");
  auto chain = DefaultCredentialsChain(From({{"AWS_SHARED_CREDENTIALS_FILE", dir.File("credentials")},
                                             {"AWS_PROFILE", "trenode"}}));
  ASSERT_TRUE(chain.ok()) << chain.status();
  auto credentials = (*chain)->Get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->access_key_id, "TRE");
  EXPECT_EQ(credentials->secret_access_key, "tre/secret+=");
  EXPECT_EQ(credentials->session_token, "tok");

  auto missing = DefaultCredentialsChain(From({{"AWS_SHARED_CREDENTIALS_FILE", dir.File("credentials")},
                                               {"AWS_PROFILE", "other"}}));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "has no profile [other]"))
      << missing.status();
}

TEST(AwsCredentialsTest, WithNothingConfiguredAndMetadataDisabledItSaysWhereItLooked) {
  auto none = DefaultCredentialsChain(From({{"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds"},
                                            {"AWS_EC2_METADATA_DISABLED", "true"}}));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(none.status().message(), "/nonexistent/creds")) << none.status();
}

TEST(AwsCredentialsTest, AnUnreachableMetadataServiceIsUnavailableNotACrash) {
  testing::TempDir dir;
  auto chain = DefaultCredentialsChain(From({{"AWS_SHARED_CREDENTIALS_FILE", dir.File("none")},
                                             {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"}}));
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ((*chain)->Get().status().code(), absl::StatusCode::kUnavailable);
}

TEST(RetryTest, OnlyBusyAndFailingServersAreRetriedAndDelaysStayInBounds) {
  for (int status : {429, 500, 502, 503, 504}) EXPECT_TRUE(cloud::IsRetryableStatus(status));
  for (int status : {200, 204, 400, 401, 403, 404, 409, 412}) {
    EXPECT_FALSE(cloud::IsRetryableStatus(status)) << status;
  }
  cloud::RetryPolicy policy{.max_attempts = 5, .first_delay = absl::Milliseconds(100),
                            .max_delay = absl::Milliseconds(300)};
  absl::Duration longest;
  for (int i = 0; i < 200; ++i) {
    absl::Duration first = cloud::RetryDelay(policy, 1);
    EXPECT_GE(first, absl::ZeroDuration());
    EXPECT_LE(first, absl::Milliseconds(100));
    absl::Duration later = cloud::RetryDelay(policy, 6);
    EXPECT_LE(later, absl::Milliseconds(300));
    longest = std::max(longest, later);
  }
  EXPECT_GT(longest, absl::Milliseconds(100));  // grown past the first ceiling
}

}  // namespace
}  // namespace trenode::adapters::aws
