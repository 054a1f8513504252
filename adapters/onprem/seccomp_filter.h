// The seccomp filter every sandboxed job runs under (bubblewrap installs it
// with --seccomp just before the job's command starts, and it holds for
// every process the job starts). It refuses, with EPERM, the system calls
// that reach kernel state the sandbox's namespaces do not isolate or that
// only serve to attack other processes or the kernel: the keyrings (not
// namespaced: a job could read or fill keys of its uid), ptrace and reading
// or writing other processes' memory, perf events, BPF, userfaultfd, kexec,
// kernel modules, mounting, swap, reboot, entering or making namespaces
// (also clone with a namespace flag) and file handles. clone3, whose flags
// sit in memory a filter cannot read, fails with ENOSYS so that the C library
// falls back to clone. Everything else is allowed.
//
// Thread-safe (no state).
#ifndef TRENODE_ADAPTERS_ONPREM_SECCOMP_FILTER_H_
#define TRENODE_ADAPTERS_ONPREM_SECCOMP_FILTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace trenode::adapters {

// The names of the system calls refused with EPERM whatever their arguments.
const std::vector<std::string>& RefusedSyscalls();

// The filter as a classic BPF program for this machine's architecture (the
// format `bwrap --seccomp FD` and PR_SET_SECCOMP read). A process of another
// architecture (e.g. 32-bit calls on x86-64) is killed by it. With
// `deny_network` (for jobs that share a network namespace, as in a cloud
// batch container) it also refuses, with EAFNOSUPPORT, sockets of every
// family but AF_UNIX, and io_uring (which can open sockets). Internal if
// libseccomp fails.
absl::StatusOr<std::string> CompileJobSeccompFilter(bool deny_network = false);

// A new memfd holding `program`, positioned at its start, close-on-exec and
// numbered 3 or above (so that a child may keep it across exec after
// setting up its standard descriptors). Unavailable on failure.
absl::StatusOr<int> SeccompProgramFd(const std::string& program);

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_ONPREM_SECCOMP_FILTER_H_
