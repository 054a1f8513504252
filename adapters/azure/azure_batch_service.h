// AzureBatchService: cloud::BatchService on one Azure Batch account, over its
// REST API (api-version kAzureBatchApiVersion) with Shared Key authentication
// (adapters/azure/shared_key.h). Every node job is one task, id = its name,
// in one Batch job on one existing pool; the task runs the job runner in the
// TRE's container image with the submission's environment.
//
//   - Submit is Add Task (409 TaskExists: AlreadyExists); Find and Describe
//     are Get Task; Terminate is Terminate Task (409 TaskCompleted: OK);
//     Delete is Delete Task (404: OK).
//   - Throttling (429, 503 ServerBusy) and 5xx are retried with jittered
//     backoff (options.retry); other 4xx never. Add Task is sent again after
//     a transport failure too, so a task added by a lost attempt is reported
//     AlreadyExists: the caller finds it with Find, as after a restart.
//   - Errors name the operation, the task or job and the service's code and
//     message; a refused key is PermissionDenied saying so.
//   - The submission's memory_mib and vcpus are not sent: an Azure task gets
//     one slot of a node of the pool, which the pool's VM size decides.
//
// Thread-safe.
#ifndef TRENODE_ADAPTERS_AZURE_AZURE_BATCH_SERVICE_H_
#define TRENODE_ADAPTERS_AZURE_AZURE_BATCH_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/azure/batch_json.h"
#include "adapters/azure/shared_key.h"
#include "adapters/cloud/batch_service.h"
#include "adapters/cloud/http_client.h"
#include "adapters/cloud/retry.h"

namespace trenode::adapters::azure {

struct AzureBatchOptions {
  std::string account_name;
  std::string account_key;  // base64, as the portal shows it
  // "https://<account>.<region>.batch.azure.com" (no trailing '/'); plain
  // http only to this host (a fake service in tests).
  std::string endpoint;
  std::string job_id;   // the Batch job the tasks go in (created by Open if missing)
  std::string pool_id;  // the existing pool that job runs on
  std::string image;    // the TRE's container image (containerSettings.imageName)
  std::string runner_path = "/opt/trenode/trenode-job-runner";  // in the image
  cloud::RetryPolicy retry;
  cloud::HttpOptions http;
};

class AzureBatchService : public cloud::BatchService {
 public:
  // Checks the options and makes sure the job exists on the pool (Add Job;
  // an existing one is Get Job'd): InvalidArgument for bad options,
  // PermissionDenied if the key is refused, FailedPrecondition if the job
  // exists but is ending or on another pool, Unavailable if the service
  // cannot be reached.
  static absl::StatusOr<std::unique_ptr<AzureBatchService>> Open(AzureBatchOptions options);

  // The id returned is the task id, which is the submission's name.
  absl::StatusOr<std::string> Submit(const cloud::BatchSubmission& submission) override;
  absl::StatusOr<std::string> Find(const std::string& name) override;
  absl::StatusOr<cloud::BatchJob> Describe(const std::string& id) override;
  absl::Status Terminate(const std::string& id) override;
  absl::Status Delete(const std::string& id) override;

 private:
  AzureBatchService(AzureBatchOptions options, AzureSharedKey key)
      : options_(std::move(options)), key_(std::move(key)), http_(options_.http) {}
  absl::Status EnsureJob();
  // One signed exchange with retries; `path` is under the endpoint, encoded.
  absl::StatusOr<cloud::HttpResponse> Send(const std::string& method, const std::string& path,
                                           const std::string& body = "");
  // The status for a Batch answer that is not a success (see the file comment).
  absl::Status Error(absl::string_view operation, absl::string_view subject,
                     const cloud::HttpResponse& response) const;
  std::string TaskPath(const std::string& id) const;

  const AzureBatchOptions options_;
  const AzureSharedKey key_;
  cloud::HttpClient http_;
};

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_AZURE_BATCH_SERVICE_H_
