// S3ObjectStore: the ObjectStore contract on one S3 bucket (or an
// S3-compatible store), optionally under a key prefix.
//
//   - Every request is signed with SigV4, x-amz-content-sha256 included.
//   - Writers keep up to part_size bytes; an object that fits is one
//     PutObject, a larger one a multipart upload, completed at Commit and
//     aborted if the writer goes without one. Nothing is visible before.
//   - Readers stream one GetObject (one response is one snapshot, so a
//     reader keeps the bytes it started with when the object is replaced); a
//     dropped stream resumes with a Range request bound to the object's ETag,
//     and fails with Aborted, never mixing bytes, if the object changed.
//   - 5xx and throttling are retried with jittered backoff; other 4xx are not.
#ifndef TRENODE_ADAPTERS_AWS_S3_OBJECT_STORE_H_
#define TRENODE_ADAPTERS_AWS_S3_OBJECT_STORE_H_

#include <memory>
#include <string>

#include "adapters/aws/aws_credentials.h"
#include "adapters/cloud/http_client.h"
#include "adapters/cloud/retry.h"
#include "adapters/object_store.h"
#include "adapters/object_url_signer.h"

namespace trenode::adapters::aws {

struct S3Options {
  std::string bucket;
  std::string region = "us-east-1";
  // Empty: https://s3.<region>.amazonaws.com. Otherwise the scheme, host and
  // port of an S3-compatible store, e.g. "http://127.0.0.1:9000".
  std::string endpoint;
  // Path-style (endpoint/bucket/key) rather than virtual-hosted
  // (bucket.endpoint/key) addressing.
  bool path_style = false;
  // Prepended to every key ("site-a/"); empty or ending with '/'.
  std::string key_prefix;
  // Server-side encryption of written objects: "", "AES256" (SSE-S3) or
  // "aws:kms" (SSE-KMS, with kms_key_id if not the bucket's default key).
  std::string server_side_encryption;
  std::string kms_key_id;
  int64_t part_size = 8 << 20;  // S3 needs at least 5 MiB per part but the last
  int list_page_size = 1000;    // 1..1000
  // Larger objects are copied by streaming (CopyObject's limit is 5 GiB).
  int64_t max_copy_object_bytes = int64_t{5} << 30;
  cloud::RetryPolicy retry;
  cloud::HttpOptions http;
};

class S3ObjectStore : public ObjectStore, public ObjectUrlSigner {
 public:
  // InvalidArgument naming the option if `options` are unusable.
  static absl::StatusOr<std::unique_ptr<S3ObjectStore>> Open(
      S3Options options, std::shared_ptr<AwsCredentialsProvider> credentials);

  absl::StatusOr<std::unique_ptr<ObjectReader>> OpenRead(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<ObjectWriter>> OpenWrite(absl::string_view key) override;
  absl::StatusOr<ObjectInfo> Stat(absl::string_view key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view key) override;
  absl::Status Copy(absl::string_view from, absl::string_view to) override;

  // Query-string SigV4 URLs (host and UNSIGNED-PAYLOAD signed), valid for up
  // to 7 days, and no longer than the credentials they are signed with: a URL
  // signed with temporary credentials (a role's) lapses when they do. A PUT
  // through one is encrypted with the bucket's default encryption, not
  // server_side_encryption.
  absl::StatusOr<PresignedRequest> PresignGet(absl::string_view key,
                                              absl::Duration valid_for) override;
  absl::StatusOr<PresignedRequest> PresignPut(absl::string_view key,
                                              absl::Duration valid_for) override;

  // Creates the bucket if it does not exist (for tests and first set-up).
  absl::Status CreateBucket();

  // One signed exchange with retries: `path_and_query` is the part after
  // the bucket ("/" + encoded key, then "?" + query), already encoded.
  // Public for the store's readers and writers.
  // A request that is not idempotent (CreateMultipartUpload,
  // CompleteMultipartUpload) is sent again only after the service refused it
  // (5xx, throttling), never after a transport failure, when it may have been
  // done.
  absl::StatusOr<cloud::HttpResponse> Call(const std::string& method,
                                           const std::string& path_and_query,
                                           std::vector<cloud::HttpHeader> headers = {},
                                           std::string body = "", bool idempotent = true);
  absl::StatusOr<std::unique_ptr<cloud::HttpBodyStream>> OpenStream(
      const std::string& path_and_query, std::vector<cloud::HttpHeader> headers);
  // The status for an S3 error response, naming the operation and the
  // service's code and message.
  absl::Status ErrorFor(const std::string& operation, absl::string_view key,
                        const cloud::HttpResponse& response) const;
  std::string ObjectPath(absl::string_view key) const;
  absl::StatusOr<PresignedRequest> Presign(const std::string& method, absl::string_view key,
                                           absl::Duration valid_for);
  const S3Options& options() const { return options_; }

 private:
  S3ObjectStore(S3Options options, std::shared_ptr<AwsCredentialsProvider> credentials);
  absl::StatusOr<cloud::HttpRequest> Signed(const std::string& method,
                                            const std::string& path_and_query,
                                            std::vector<cloud::HttpHeader> headers,
                                            std::string body);

  const S3Options options_;
  std::string base_url_;  // scheme://host[:port][/bucket]
  std::shared_ptr<AwsCredentialsProvider> credentials_;
  cloud::HttpClient http_;
};

}  // namespace trenode::adapters::aws

#endif  // TRENODE_ADAPTERS_AWS_S3_OBJECT_STORE_H_
