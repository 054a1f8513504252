// ComputeBackend: where a node runs script jobs, behind one narrow interface
// with in-memory (tests), on-prem sandbox (bubblewrap), Slurm and cloud batch
// implementations. tests/contract/compute_backend_contract_test.cc is the
// contract every implementation passes.
//
// Inside every backend a job sees the same world: its code read-only at
// /job/code (the working directory), each dataset read-only at
// /data/<name>.sqlite, a writable /job/outbox (whose files are its outputs),
// a private /tmp, no network, a clean environment (PATH, HOME=/tmp, TMPDIR,
// LANG, PWD), and
// the limits of its JobSpec. Nothing else of the host is visible except the
// read-only system directories needed to run programs.
//
// Thread-safe.
#ifndef TRENODE_ADAPTERS_COMPUTE_BACKEND_H_
#define TRENODE_ADAPTERS_COMPUTE_BACKEND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace trenode::adapters {

struct ComputeLimits {
  absl::Duration cpu = absl::Minutes(10);    // CPU time of each process
  absl::Duration wall = absl::Minutes(30);   // from start to end of the job
  int64_t memory_bytes = int64_t{2} << 30;   // address space of each process
  int64_t output_bytes = int64_t{64} << 20;  // each file, and the outbox in total
  int64_t output_files = 100;
  int processes = 64;            // processes and threads at once
  int64_t log_bytes = 64 << 10;  // stdout and stderr, each, as reported
};

struct DatasetMount {
  std::string name;  // [a-z0-9-]+: mounted at /data/<name>.sqlite
  std::string path;  // the dataset's file on the node
};

struct JobSpec {
  // [a-z0-9-]{1,64}. Submitting an id the backend already has is a no-op:
  // a job never runs twice.
  std::string job_id;
  std::string code_dir;              // mounted at /job/code
  std::vector<std::string> command;  // argv, run in /job/code
  std::vector<DatasetMount> datasets;
  ComputeLimits limits;
};

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

// Why a job failed, from a fixed vocabulary: what a researcher may be told.
// The job chooses among these at most (a few bits per job); everything
// job-controlled (exit status, signal, file names, sizes) stays in `reason`.
enum class JobFailure {
  kNone,
  kExited,       // exited with a non-zero status
  kWallLimit,    // ran past the wall-clock limit
  kCpuLimit,     // a process used more than its CPU time
  kKilled,       // killed (the CPU-time or memory limit, or a signal)
  kOutputLimit,  // the outbox broke the output limits
  kLost,         // the node stopped while it ran
  kBackend,      // the backend ended it (time limit or node failure)
};
// "exited", "wall-limit", ...; and back (kExited for an unknown name).
const char* JobFailureName(JobFailure failure);
JobFailure JobFailureFromName(absl::string_view name);
// The sentence a researcher is shown, e.g. "the job exited with an error".
const char* JobFailureText(JobFailure failure);

// What a job used, from the backend's own accounting (spec/charging.md,
// "Metering"): zero where the backend does not meter it.
struct JobUsage {
  int64_t cpu_micros = 0;         // every process of the job together
  int64_t wall_micros = 0;        // from start to end
  int64_t peak_memory_bytes = 0;  // the most the job held at once
  // "cgroup-v1", "cgroup-v2", "rusage", "slurm-cgroup", "job-runner-cgroup",
  // "job-runner-rusage"; "none" when nothing was metered.
  std::string metered_by = "none";
};

struct JobStatus {
  JobState state = JobState::kQueued;
  int exit_code = -1;  // when it ended by exiting
  // Why it failed or was cancelled, e.g. "wall-clock limit of 30s exceeded":
  // for the node's operators (it may hold job-controlled values).
  std::string reason;
  // Why it failed, from the fixed vocabulary (kNone unless kFailed).
  JobFailure failure = JobFailure::kNone;
  // The first log_bytes of each, once the job has ended.
  std::string stdout_text;
  std::string stderr_text;
  // Once it has ended: the directory holding the outbox's files, readable by
  // the node until Remove().
  std::string outbox_dir;
  // Once it has ended.
  JobUsage usage;
};

// "queued", "running", ...
const char* JobStateName(JobState state);
bool IsFinished(JobState state);

class ComputeBackend {
 public:
  virtual ~ComputeBackend() = default;

  // Starts (or queues) the job. InvalidArgument for a bad spec;
  // Unavailable if the backend cannot take it now.
  virtual absl::Status Submit(const JobSpec& spec) = 0;
  // NotFound for an id the backend does not know.
  virtual absl::StatusOr<JobStatus> Status(const std::string& job_id) = 0;
  // Stops the job; its outputs are discarded. OK if it had already ended;
  // NotFound for an unknown id.
  virtual absl::Status Cancel(const std::string& job_id) = 0;
  // Deletes what the backend keeps of an ended job. NotFound; FailedPrecondition
  // while it runs.
  virtual absl::Status Remove(const std::string& job_id) = 0;
};

// OK, or InvalidArgument naming what is wrong with the spec.
absl::Status ValidateJobSpec(const JobSpec& spec);

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_COMPUTE_BACKEND_H_
