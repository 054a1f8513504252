// AWS Batch as a cloud::BatchService: SubmitJob on one job queue with one
// job definition (the TRE's job runner image, whose network is private),
// DescribeJobs, ListJobs (to find a job by name) and TerminateJob, each a
// JSON POST signed with SigV4 for service "batch". Throttling
// (429 TooManyRequestsException) and 5xx are retried with jittered backoff;
// other 4xx are not. SubmitJob, which has no idempotency token, is never
// sent again after a transport failure (Unknown: the caller finds the job by
// name). A job is never retried by the service (attempts 1).
//
// Thread-safe.
#ifndef TRENODE_ADAPTERS_AWS_AWS_BATCH_SERVICE_H_
#define TRENODE_ADAPTERS_AWS_AWS_BATCH_SERVICE_H_

#include <memory>
#include <string>

#include "adapters/aws/aws_credentials.h"
#include "adapters/cloud/batch_service.h"
#include "adapters/cloud/http_client.h"
#include "adapters/cloud/retry.h"

namespace trenode::adapters::aws {

struct AwsBatchOptions {
  std::string region = "us-east-1";
  // Empty: https://batch.<region>.amazonaws.com. Otherwise scheme, host and
  // port (https, or http on loopback only).
  std::string endpoint;
  std::string job_queue;       // name or ARN
  std::string job_definition;  // name, name:revision or ARN
  cloud::RetryPolicy retry;
  cloud::HttpOptions http;
};

class AwsBatchService : public cloud::BatchService {
 public:
  // InvalidArgument naming the option if `options` are unusable.
  static absl::StatusOr<std::unique_ptr<AwsBatchService>> Open(
      AwsBatchOptions options, std::shared_ptr<AwsCredentialsProvider> credentials);

  absl::StatusOr<std::string> Submit(const cloud::BatchSubmission& submission) override;
  absl::StatusOr<std::string> Find(const std::string& name) override;
  absl::StatusOr<cloud::BatchJob> Describe(const std::string& id) override;
  absl::Status Terminate(const std::string& id) override;
  absl::Status Delete(const std::string& id) override;

 private:
  AwsBatchService(AwsBatchOptions options, std::shared_ptr<AwsCredentialsProvider> credentials);
  // One signed JSON POST to `operation` ("submitjob"), with retries; the
  // answer's body on 200, else the status naming the operation and the
  // service's error. A call that is not `idempotent` is sent again only
  // after the service refused it (throttling, 5xx), never after a transport
  // failure, which is then Unknown (it may have been done).
  absl::StatusOr<std::string> Call(const std::string& operation, const std::string& json,
                                   bool idempotent = true);
  absl::StatusOr<cloud::HttpRequest> Signed(const std::string& operation,
                                            const std::string& json);

  const AwsBatchOptions options_;
  const std::shared_ptr<AwsCredentialsProvider> credentials_;
  std::string endpoint_;
  cloud::HttpClient http_;
};

}  // namespace trenode::adapters::aws

#endif  // TRENODE_ADAPTERS_AWS_AWS_BATCH_SERVICE_H_
