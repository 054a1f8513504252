// AWS Signature Version 4 (header and query-string forms), as the AWS
// General Reference and the S3 API reference define it. The signer signs the
// request it is given as it will be sent: every header on it (except
// Authorization) is signed.
#ifndef TRENODE_ADAPTERS_AWS_SIGV4_H_
#define TRENODE_ADAPTERS_AWS_SIGV4_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/cloud/http_client.h"

namespace trenode::adapters::aws {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  absl::Time expires = absl::InfiniteFuture();
};

struct SigV4Scope {
  std::string region;   // e.g. eu-west-2
  std::string service;  // e.g. s3, batch
};

struct SigV4Rules {
  // Every service but S3 normalises the path (".", "..", empty segments) and
  // encodes it twice; S3 signs the path as sent.
  bool s3_paths = false;
  // The session token is signed (the default, and what S3 needs), or added
  // after signing (as some older services expect).
  bool sign_session_token = true;
};

// The pieces of a signature, for tests and for checking a failure.
struct SigV4Parts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // hex
};

// Sets X-Amz-Date (to `now`), X-Amz-Security-Token (with a session token) and
// Authorization on `request`. The payload hash is the x-amz-content-sha256
// header's value when there is one, else the SHA-256 of the body.
// InvalidArgument if the request's URL cannot be parsed.
absl::StatusOr<SigV4Parts> SignRequest(cloud::HttpRequest& request,
                                       const AwsCredentials& credentials,
                                       const SigV4Scope& scope, absl::Time now,
                                       const SigV4Rules& rules = {});

// `url` with the query-string signature (X-Amz-Algorithm ... X-Amz-Signature)
// added, valid for `expires_in` (1 s to 7 days) from `now`; signs only the
// host header and an UNSIGNED-PAYLOAD, as S3's presigned URLs do.
absl::StatusOr<std::string> PresignUrl(const std::string& method, const std::string& url,
                                       const AwsCredentials& credentials,
                                       const SigV4Scope& scope, absl::Time now,
                                       absl::Duration expires_in);

// "20150830T123600Z"
std::string AmzDate(absl::Time time);

}  // namespace trenode::adapters::aws

#endif  // TRENODE_ADAPTERS_AWS_SIGV4_H_
