// Where a node on AWS finds its credentials, in the order the AWS SDKs look:
//   1. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN);
//   2. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
//      ~/.aws/credentials), profile AWS_PROFILE or "default";
//   3. the container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI, or
//      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI under http://169.254.170.2), with
//      AWS_CONTAINER_AUTHORIZATION_TOKEN or _TOKEN_FILE if set;
//   4. the instance metadata service, IMDSv2 only (a session token first), at
//      AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254.
// Credentials from 3 and 4 are temporary: they are fetched again once less
// than five minutes of their life is left.
#ifndef TRENODE_ADAPTERS_AWS_AWS_CREDENTIALS_H_
#define TRENODE_ADAPTERS_AWS_AWS_CREDENTIALS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/aws/sigv4.h"

namespace trenode::adapters::aws {

class AwsCredentialsProvider {
 public:
  virtual ~AwsCredentialsProvider() = default;
  // Credentials with at least five minutes left (or no expiry).
  // Unauthenticated if none are found, saying where it looked; Unavailable
  // if a credential endpoint did not answer.
  virtual absl::StatusOr<AwsCredentials> Get() = 0;
  // Where these credentials come from, for logs ("environment", ...).
  virtual std::string Source() const = 0;
};

std::unique_ptr<AwsCredentialsProvider> StaticCredentials(AwsCredentials credentials);

// An environment variable's value, if set (tests pass their own).
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvironmentLookup ProcessEnvironment();

// The first source in the order above that is configured; Unauthenticated
// naming each place looked if none is.
absl::StatusOr<std::unique_ptr<AwsCredentialsProvider>> DefaultCredentialsChain(
    const EnvironmentLookup& environment = ProcessEnvironment());

}  // namespace trenode::adapters::aws

#endif  // TRENODE_ADAPTERS_AWS_AWS_CREDENTIALS_H_
