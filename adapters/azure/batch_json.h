// The JSON the Azure Batch REST API exchanges for tasks and jobs (api-version
// kAzureBatchApiVersion), built and read through protobuf's JSON support
// (google.protobuf.Struct), not a parser of our own: the bodies of Add Job
// and Add Task, the fields of Get Task and Get Job this node reads, and the
// service's error document.
//
// Thread-safety: the functions are thread-safe.
#ifndef TRENODE_ADAPTERS_AZURE_BATCH_JSON_H_
#define TRENODE_ADAPTERS_AZURE_BATCH_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/cloud/batch_service.h"

namespace trenode::adapters::azure {

// The REST API version every request names: pinned, so that the service's
// behaviour cannot change under the node.
inline constexpr char kAzureBatchApiVersion[] = "2024-07-01.20.0";

// What a task runs: the job runner at `runner_path` in the container `image`.
struct BatchTaskTemplate {
  std::string image;
  std::string runner_path;
};

// The Add Task body: id = submission.name, the runner as the command line in
// the image, the submission's environment, maxWallClockTime = its timeout
// (ISO 8601, whole seconds, at least one), no retries, and an elevated
// task-scoped auto user (the runner starts as root to drop to its job's user).
std::string AddTaskBody(const cloud::BatchSubmission& submission,
                        const BatchTaskTemplate& task);

// The Add Job body: the job `job_id` on the existing pool `pool_id`.
std::string AddJobBody(absl::string_view job_id, absl::string_view pool_id);

// A Get Task answer as a BatchJob: active and preparing are kWaiting, running
// kRunning, completed kSucceeded if executionInfo.result is "success" (or,
// with no result, exitCode is 0), else kFailed with the exit code (-1 if
// none) and failureInfo's message and code as the reason. Unavailable if the
// body is not JSON or names an unknown state.
absl::StatusOr<cloud::BatchJob> ParseTask(absl::string_view body);

// The fields of a Get Job answer that say whether tasks can be added to it.
struct BatchJobInfo {
  std::string state;    // "active", "disabled", "terminating", "completed", ...
  std::string pool_id;  // poolInfo.poolId, empty for an auto pool
};
// Unavailable if the body is not JSON.
absl::StatusOr<BatchJobInfo> ParseJob(absl::string_view body);

// The service's error code and the first line of its message, from
// {"code": ..., "message": {"lang": ..., "value": ...}}; "(no error code)"
// and an empty message if the body is not such a document.
struct BatchServiceError {
  std::string code;
  std::string message;
};
BatchServiceError ParseError(absl::string_view body);

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_BATCH_JSON_H_
