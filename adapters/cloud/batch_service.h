// BatchService: one cloud batch service (AWS Batch, Azure Batch) as the
// cloud compute backend (adapters/cloud/batch_compute_backend.h) drives it.
// Every job it runs is the job runner (adapters/cloud/job_runner.h) in the
// TRE's container image; the runner finds its work through the environment
// given here. Implementations translate to the service's REST API and
// nothing more: staging, judging and idempotence are the backend's.
//
// Errors: Unavailable when the service cannot be reached or is throttling
// (after the client's own retries); PermissionDenied when it refuses the
// credentials; other codes as documented per method.
//
// Thread-safe.
#ifndef TRENODE_ADAPTERS_CLOUD_BATCH_SERVICE_H_
#define TRENODE_ADAPTERS_CLOUD_BATCH_SERVICE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trenode::adapters::cloud {

struct BatchSubmission {
  // The node's job id ([a-z0-9-]{1,64}): the service's job name (AWS) or
  // task id (Azure).
  std::string name;
  // The runner's environment (names [A-Z_]+).
  std::vector<std::pair<std::string, std::string>> environment;
  int64_t memory_mib = 2048;
  int vcpus = 1;
  // The service stops the job after this long running (a backstop: the
  // runner enforces the job's own wall-clock limit first).
  absl::Duration timeout = absl::Hours(1);
};

enum class BatchPhase { kWaiting, kRunning, kSucceeded, kFailed };

struct BatchJob {
  BatchPhase phase = BatchPhase::kWaiting;
  // The runner's exit status once it has ended, -1 if the service has none
  // (e.g. it never started).
  int exit_code = -1;
  // The service's own words on why it failed, for the node's operators.
  std::string reason;
};

class BatchService {
 public:
  virtual ~BatchService() = default;
  // Starts a job; returns the service's id for it. AlreadyExists if the
  // service already holds a job of this name and says so (Azure task ids are
  // unique in their job; also after a retried request whose first answer
  // was lost); InvalidArgument if the service rejects the request; Unknown
  // if the request may have been accepted but its answer was lost (a
  // service without idempotent submission, AWS, is then never asked again:
  // the caller must Find the job).
  virtual absl::StatusOr<std::string> Submit(const BatchSubmission& submission) = 0;
  // The id of a job submitted earlier with this name (after the node stopped
  // between Submit and recording its answer); NotFound if there is none.
  virtual absl::StatusOr<std::string> Find(const std::string& name) = 0;
  // NotFound if the service does not know (or no longer knows) the id.
  virtual absl::StatusOr<BatchJob> Describe(const std::string& id) = 0;
  // Stops the job. OK if it had already ended; NotFound for an unknown id.
  virtual absl::Status Terminate(const std::string& id) = 0;
  // Forgets an ended job where the service keeps them until told (Azure);
  // OK where the service ages them out itself (AWS). OK for an unknown id.
  virtual absl::Status Delete(const std::string& id) = 0;
};

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_BATCH_SERVICE_H_
