// The command line that runs a job in the bubblewrap sandbox, shared by the
// on-prem backends: bwrap (as root) builds the job's file system and
// namespaces, then setpriv drops to the job's uid with no capabilities and
// no_new_privs before the job's program starts (adapters/compute_backend.h
// says what the job sees). The job's memory in total, processes and CPU are
// bounded by its cgroup (SandboxBackend) or Slurm's; the per-process limits
// here (prlimit) are a second line.
#ifndef TRENODE_ADAPTERS_ONPREM_SANDBOX_COMMAND_H_
#define TRENODE_ADAPTERS_ONPREM_SANDBOX_COMMAND_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "adapters/compute_backend.h"

namespace trenode::adapters {

struct SandboxTools {
  std::string bwrap = "/usr/bin/bwrap";
  std::string setpriv = "/usr/bin/setpriv";
  std::string prlimit = "/usr/bin/prlimit";
};

// bwrap ... -- setpriv ... -- <spec.command>, with `outbox` as /job/outbox
// and the job's seccomp filter (adapters/onprem/seccomp_filter.h) read from
// descriptor `seccomp_fd`, which bwrap must inherit.
std::vector<std::string> SandboxArgv(const SandboxTools& tools, const JobSpec& spec,
                                     const std::string& outbox, uid_t uid, int seccomp_fd);

// prlimit with the spec's per-process limits, then SandboxArgv.
std::vector<std::string> LimitedSandboxArgv(const SandboxTools& tools, const JobSpec& spec,
                                            const std::string& outbox, uid_t uid,
                                            int seccomp_fd);

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_ONPREM_SANDBOX_COMMAND_H_
