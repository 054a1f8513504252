// A ComputeBackend that runs each job on this machine in a bubblewrap
// sandbox: new network (loopback only), pid, IPC and UTS namespaces; a root
// file system holding only read-only /usr, the job's code, its datasets and
// its outbox; and the job's processes run as a uid of their own (never the
// node's), with no capabilities and no_new_privs, under a seccomp filter
// (adapters/onprem/seccomp_filter.h), per-process limits (CPU time, address
// space, file size) and a per-uid process limit. The node enforces the
// wall-clock and total output limits.
//
// Each job runs in a cgroup of its own (adapters/onprem/cgroups.h, v2 or
// v1), which the node creates before the job's first program starts and
// removes once the job has ended and nothing is left in it: the memory of
// all its processes and its /tmp together is at most the job's
// memory_bytes, its tasks at most `processes` (plus bubblewrap's own two),
// its CPU bandwidth cpus_per_job. When the kernel kills a process of the
// job for its memory, the node ends the whole job and reports it killed
// ("killed: over the memory limit of N bytes"). On a machine without a
// usable cgroup hierarchy jobs run without one, as stderr says once.
//
// Each job is metered (JobStatus::usage) from its cgroup's counters: the CPU
// time of all its processes, dead ones included, and its peak memory
// (adapters/onprem/cgroups.h); without a cgroup, from bubblewrap's rusage.
//
// bwrap runs as root to make the mounts (so dataset files need not be
// readable through their directories by anyone but the node), then setpriv
// drops to the job's uid before the job's program starts. The node must run
// as root; Create() says so otherwise.
//
// Jobs are children of the node: if the node dies, they die with it, and
// after a restart Status() reports such a job failed ("the node stopped while
// it ran"), never runs it again.
#ifndef TRENODE_ADAPTERS_ONPREM_SANDBOX_BACKEND_H_
#define TRENODE_ADAPTERS_ONPREM_SANDBOX_BACKEND_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "adapters/compute_backend.h"
#include "adapters/onprem/cgroups.h"
#include "adapters/onprem/sandbox_command.h"

namespace trenode::adapters {

struct SandboxOptions {
  // Holds one directory per job (created 0700).
  std::string work_root;
  SandboxTools tools;
  // Jobs run as uid and gid first_uid + slot, for slot in [0, max_jobs).
  uid_t first_uid = 200000;
  // Jobs running at once; Submit beyond this is Unavailable (retry later).
  int max_jobs = 4;
  // Jobs' cgroups are <cgroup_parent>/<job id>@<uid> in the hierarchy.
  std::string cgroup_parent = "trenode";
  // The CPU bandwidth of each job, in CPUs (0: unlimited).
  double cpus_per_job = 1.0;
};

class SandboxBackend : public ComputeBackend {
 public:
  // FailedPrecondition if not root or bwrap/setpriv are missing; Internal if
  // the seccomp filter cannot be compiled.
  static absl::StatusOr<std::unique_ptr<SandboxBackend>> Create(SandboxOptions options);
  // Kills every running job.
  ~SandboxBackend() override;

  absl::Status Submit(const JobSpec& spec) override;
  absl::StatusOr<JobStatus> Status(const std::string& job_id) override;
  absl::Status Cancel(const std::string& job_id) override;
  absl::Status Remove(const std::string& job_id) override;

  // The cgroups jobs run in; null where none is usable.
  Cgroups* cgroups() const { return cgroups_.get(); }
  // The name of the job's cgroup under cgroup_parent while the job runs;
  // "" once it has ended, or when jobs are not in cgroups.
  std::string JobCgroup(const std::string& job_id);

 private:
  struct Job {
    JobSpec spec;
    pid_t pid = -1;
    int slot = -1;
    std::string cgroup;  // "" when jobs are not in cgroups
    bool cancel_requested = false;
    bool finished = false;
    std::thread monitor;
  };

  explicit SandboxBackend(SandboxOptions options) : options_(std::move(options)) {}
  // Starts the sandbox with its stdin, stdout and stderr, in `cgroup` (if
  // any) before it runs anything. Unavailable on failure, leaving no process.
  absl::StatusOr<pid_t> Start(std::vector<std::string> argv, int in, int out, int err,
                              int seccomp_fd, const std::string& cgroup);
  // Waits for the job to end, enforcing the wall clock and the memory limit;
  // meters it, removes its cgroup and writes its result.
  void Monitor(Job* job);
  // What the job used: its cgroup's counters, read before the cgroup is
  // removed; without a cgroup, the rusage of bubblewrap (which reaped every
  // process of the job).
  JobUsage MeteredUsage(const std::string& cgroup, const rusage& resources,
                        absl::Duration wall) const;

  SandboxOptions options_;
  std::unique_ptr<Cgroups> cgroups_;  // null: jobs run without cgroups
  std::string seccomp_program_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> slots_in_use_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_ONPREM_SANDBOX_BACKEND_H_
