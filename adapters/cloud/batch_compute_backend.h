// A ComputeBackend on a cloud batch service (AWS Batch, Azure Batch) whose
// jobs are staged in the same cloud's object store.
//
// Submit stages the job under <key_prefix><job id>/ in the store: each code
// file and dataset file (by SHA-256), and a BatchJobManifest
// (proto/trenode/internal/batch_job.proto) holding presigned GETs for them
// and a presigned PUT for the result. The service is asked to run the job
// runner (adapters/cloud/job_runner.h) with only the manifest's presigned
// URL: the job holds no credentials and can reach no other object. URLs are
// valid for the job's wall-clock limit plus `queue_allowance`.
//
// Status asks the service; once the runner has ended, the backend reads the
// result, writes the logs and outbox into the job's local directory
// (adapters/onprem/job_directory.h, under work_root), judges it there with
// the on-prem backends' one judgement (limits, exit status, outbox), and
// deletes everything staged in the store and the service's record. The job
// is charged what the runner metered (BatchJobResult.usage: metered_by
// "job-runner-cgroup" or "job-runner-rusage"). A result
// larger than the output and log limits allow is not read: the job failed
// with output-limit.
//
// Cancel asks the service to terminate the job; the runner, on the
// service's SIGTERM, stops the job and still returns its result, and Status
// settles the job as cancelled once the service says it ended (within two
// minutes; otherwise unmetered), charged what the runner metered.
//
// A job never runs twice: the local directory is made before the service is
// asked, and an id whose directory exists is never submitted again; if the
// node stopped between asking the service and recording its answer, the
// job is found by name (BatchService::Find) and, only if the service has
// none, submitted again.
//
// Thread-safe. Submissions and judgements are serialized.
#ifndef TRENODE_ADAPTERS_CLOUD_BATCH_COMPUTE_BACKEND_H_
#define TRENODE_ADAPTERS_CLOUD_BATCH_COMPUTE_BACKEND_H_

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/cloud/batch_service.h"
#include "adapters/compute_backend.h"
#include "adapters/object_store.h"
#include "adapters/object_url_signer.h"

namespace trenode::adapters::cloud {

struct BatchBackendOptions {
  std::string work_root;  // the jobs' local directories
  // Where jobs are staged in the store: "" or a valid key followed by '/'.
  std::string key_prefix = "batch-jobs/";
  // How long a job may wait in the service's queue before its URLs lapse.
  absl::Duration queue_allowance = absl::Hours(24);
  int vcpus = 1;
};

class BatchComputeBackend : public ComputeBackend {
 public:
  // `store` and `signer` (usually one object) must outlive the backend.
  // InvalidArgument for bad options; Unavailable if work_root cannot be made.
  static absl::StatusOr<std::unique_ptr<BatchComputeBackend>> Create(
      BatchBackendOptions options, std::unique_ptr<BatchService> service, ObjectStore* store,
      ObjectUrlSigner* signer);

  absl::Status Submit(const JobSpec& spec) override;
  absl::StatusOr<JobStatus> Status(const std::string& job_id) override;
  absl::Status Cancel(const std::string& job_id) override;
  absl::Status Remove(const std::string& job_id) override;

 private:
  BatchComputeBackend(BatchBackendOptions options, std::unique_ptr<BatchService> service,
                      ObjectStore* store, ObjectUrlSigner* signer)
      : options_(std::move(options)), service_(std::move(service)), store_(store),
        signer_(signer) {}

  std::string StagedKey(const std::string& job_id, const std::string& name) const;
  absl::Status Stage(const JobSpec& spec);
  // Asks the service to run the staged job and records its id.
  absl::Status Start(const std::string& job_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the runner's result and judges the job.
  JobStatus Judge(const std::string& job_id, const ComputeLimits& limits,
                  const std::string& service_reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Settles the job as failed with `failure`, charged `usage` (the runner's
  // metering, if it ran the job).
  JobStatus SettleWith(const std::string& job_id, JobFailure failure, const std::string& reason,
                       const ComputeLimits& limits, const JobUsage& usage = JobUsage())
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Settles a job the service was asked to terminate, charged what the
  // runner's result (if any) says it used.
  JobStatus SettleCancelled(const std::string& job_id, const ComputeLimits& limits)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes what is staged for the job in the store and the service's record.
  void Clean(const std::string& job_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BatchBackendOptions options_;
  const std::unique_ptr<BatchService> service_;
  ObjectStore* const store_;
  ObjectUrlSigner* const signer_;
  absl::Mutex mu_;
};

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_BATCH_COMPUTE_BACKEND_H_
