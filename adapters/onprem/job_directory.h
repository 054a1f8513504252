// One job's directory on the node (shared with the compute nodes for Slurm):
// ROOT/<job id>/ holding outbox/ (the job's only writable place), stdout,
// stderr and, once the job has been judged, `result`. The on-prem backends
// and the cloud batch backend (which fills it from the job's returned
// result) share this layout and the one judgement of how a job ended.
#ifndef TRENODE_ADAPTERS_ONPREM_JOB_DIRECTORY_H_
#define TRENODE_ADAPTERS_ONPREM_JOB_DIRECTORY_H_

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/compute_backend.h"

namespace trenode::adapters {

// How the sandboxed command ended, as its parent saw it.
struct JobEnd {
  // The exit status; bwrap reports a job killed by signal S as 128 + S.
  int exit_code = -1;
  bool cancelled = false;
  bool timed_out = false;
  // Killed by this signal before reporting an exit status (0: none).
  int signal = 0;
  // The kernel killed a process of the job for going over the memory limit
  // of its cgroup (and the node then ended the whole job).
  bool out_of_memory = false;
  // A verdict reached before the outbox is looked at (a cloud batch service
  // ended the job, or its returned outbox broke the limits): the job failed
  // with it. kNone: judge by the fields above.
  JobFailure verdict = JobFailure::kNone;
  std::string verdict_reason;
  // What it used, as its backend metered it; kept in `usage` beside the
  // result.
  JobUsage usage;
};

class JobDirectory {
 public:
  JobDirectory(const std::string& root, const std::string& job_id)
      : path_(std::filesystem::path(root) / job_id) {}

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path outbox() const { return path_ / "outbox"; }
  std::filesystem::path stdout_path() const { return path_ / "stdout"; }
  std::filesystem::path stderr_path() const { return path_ / "stderr"; }
  bool Exists() const;

  // Creates the directory (0700) with an outbox owned by `uid` and empty
  // log files. Unavailable on failure, leaving nothing.
  absl::Status Create(uid_t uid);

  // Judges how the job ended (limits, exit status, the outbox's contents),
  // clears the outbox unless it succeeded, and writes `usage` and then
  // `result`.
  JobStatus Settle(const JobEnd& end, const ComputeLimits& limits);

  // The judged result, or nullopt before Settle.
  std::optional<JobStatus> Result(int64_t log_bytes) const;

  // Deletes the outbox's contents.
  void ClearOutbox() const;

  // Writes `usage` without judging the job (it ended because the node
  // stopped), so that the node can charge it after a restart.
  void KeepUsage(const JobUsage& usage) const;
  // What `usage` holds; zeros and metered_by "none" without one.
  JobUsage Usage() const;

 private:
  std::filesystem::path path_;
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_ONPREM_JOB_DIRECTORY_H_
