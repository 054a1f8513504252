// A ComputeBackend that submits each job to Slurm with sbatch, as a batch
// script running the same sandbox as SandboxBackend (prlimit + bubblewrap +
// setpriv, adapters/onprem/sandbox_command.h) under `timeout` for the wall
// clock; polls it with squeue and cancels it with scancel.
//
// The job directory (adapters/onprem/job_directory.h) lives under work_root,
// which must be on a file system the compute nodes share, as must the code
// and dataset paths. The batch script records the sandbox's exit status in
// the directory; the backend judges the result from it. Jobs outlive the
// node: after a restart, Status() asks Slurm and the directory as before.
// The node (and so sbatch) must run as root, as the sandbox needs.
//
// Limits: the sandbox's seccomp filter (adapters/onprem/seccomp_filter.h,
// compiled on the node, so compute nodes must share its architecture) and
// per-process limits apply as on the node. The job's memory in total is
// requested with sbatch --mem (so the cluster's nodes must declare their
// RealMemory, or Slurm refuses the job); Slurm enforces it where it runs its
// cgroup plugin (TaskPlugin=task/cgroup with ConstrainRAMSpace=yes, and
// ConstrainSwapSpace=yes so swap does not extend it; ProctrackType=
// proctrack/cgroup so that every process is tracked), which bounds the
// job's processes and its /tmp together and OOM-kills a job over it. Without
// that plugin --mem only guides scheduling and each process is limited
// alone (RLIMIT_AS), as are processes per uid (RLIMIT_NPROC): the node's own
// cgroups (SandboxBackend) do not reach compute nodes.
//
// Metering (JobStatus::usage): the batch script times the sandbox and, once
// it has ended, reads the CPU time and peak memory of its batch step from
// the cgroup Slurm made for it, the counters Slurm's own accounting
// (jobacct_gather/cgroup) reads; so the cluster must track jobs by cgroup
// (ProctrackType=proctrack/cgroup, JobAcctGatherType=jobacct_gather/cgroup)
// for jobs to be metered, and otherwise they are "none". Slurm's database
// (slurmdbd, sacct) is not needed; `sstat` was not used because it reports
// whole seconds, and with jobacct_gather/linux loses processes that have
// exited (a job burning 2 CPU-seconds showed 1).
#ifndef TRENODE_ADAPTERS_ONPREM_SLURM_BACKEND_H_
#define TRENODE_ADAPTERS_ONPREM_SLURM_BACKEND_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "adapters/compute_backend.h"
#include "adapters/onprem/sandbox_command.h"

namespace trenode::adapters {

struct SlurmOptions {
  std::string work_root;
  // SLURM_CONF for the Slurm commands; empty: Slurm's default.
  std::string slurm_conf;
  // Empty: the cluster's default partition.
  std::string partition;
  SandboxTools tools;
  std::string sbatch = "/usr/bin/sbatch";
  std::string squeue = "/usr/bin/squeue";
  std::string scancel = "/usr/bin/scancel";
  std::string timeout = "/usr/bin/timeout";
  // Jobs run as uid/gid first_uid + slot, for slot in [0, max_jobs): at most
  // max_jobs unfinished jobs at once (more is Unavailable).
  uid_t first_uid = 201000;
  int max_jobs = 16;
};

class SlurmBackend : public ComputeBackend {
 public:
  // FailedPrecondition if not root or a tool is missing; Unavailable if the
  // Slurm controller does not answer; Internal if the seccomp filter cannot
  // be compiled.
  static absl::StatusOr<std::unique_ptr<SlurmBackend>> Create(SlurmOptions options);

  absl::Status Submit(const JobSpec& spec) override;
  absl::StatusOr<JobStatus> Status(const std::string& job_id) override;
  absl::Status Cancel(const std::string& job_id) override;
  absl::Status Remove(const std::string& job_id) override;

 private:
  explicit SlurmBackend(SlurmOptions options) : options_(std::move(options)) {}
  std::vector<std::string> Environment() const;
  // Slurm's state of the job ("PENDING", "RUNNING", ...), or "" once it has
  // left the queue.
  absl::StatusOr<std::string> QueueState(const std::string& slurm_id) const;
  // A uid no unfinished job uses.
  absl::StatusOr<uid_t> FreeUid() const;

  SlurmOptions options_;
  std::string seccomp_program_;  // written beside each job's batch script
  absl::Mutex mu_;  // serializes submissions and judgements
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_ONPREM_SLURM_BACKEND_H_
