// An in-memory ComputeBackend for unit tests of the code around the
// interface. It runs nothing: a job stays queued until the test (or the
// `behaviour` given at construction) finishes it with an exit code, logs and
// output files, which are written to a directory under `outbox_root`.
#ifndef TRENODE_ADAPTERS_MEMORY_MEMORY_COMPUTE_BACKEND_H_
#define TRENODE_ADAPTERS_MEMORY_MEMORY_COMPUTE_BACKEND_H_

#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "adapters/compute_backend.h"

namespace trenode::adapters {

// How a fake job ends.
struct FakeOutcome {
  int exit_code = 0;
  std::string stdout_text, stderr_text;
  std::map<std::string, std::string> outputs;  // file name -> contents
  // Leave the job running instead (until Finish or Cancel).
  bool keep_running = false;
};

class MemoryComputeBackend : public ComputeBackend {
 public:
  using Behaviour = std::function<FakeOutcome(const JobSpec&)>;

  // `behaviour`, if given, decides each job's outcome at Submit.
  explicit MemoryComputeBackend(std::string outbox_root, Behaviour behaviour = nullptr)
      : outbox_root_(std::move(outbox_root)), behaviour_(std::move(behaviour)) {}

  absl::Status Submit(const JobSpec& spec) override;
  absl::StatusOr<JobStatus> Status(const std::string& job_id) override;
  absl::Status Cancel(const std::string& job_id) override;
  absl::Status Remove(const std::string& job_id) override;

  // Ends a queued or running job as `outcome` says. NotFound; FailedPrecondition if ended.
  absl::Status Finish(const std::string& job_id, const FakeOutcome& outcome);
  // How many times a job was started (never more than once per id).
  int starts(const std::string& job_id);

 private:
  struct Job {
    JobSpec spec;
    JobStatus status;
    int starts = 0;
  };
  absl::Status FinishLocked(Job& job, const FakeOutcome& outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string outbox_root_;
  Behaviour behaviour_;
  absl::Mutex mu_;
  std::map<std::string, Job> jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_MEMORY_MEMORY_COMPUTE_BACKEND_H_
