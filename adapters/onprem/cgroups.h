// The kernel's control groups as the sandbox uses them: one cgroup per job,
// under a parent cgroup of the node's, bounding the memory of all the job's
// processes together (with the tmpfs pages they write, which the kernel
// charges to the writer's cgroup), its number of tasks and its CPU
// bandwidth. Both hierarchies are supported:
//
// - cgroup v2 (the unified hierarchy, e.g. Debian 12): one directory
//   <mount>/<parent>/<name> with memory.max, memory.swap.max = 0,
//   memory.oom.group = 1 (an OOM kill ends the whole job), pids.max and
//   cpu.max; the node enables the memory, pids and cpu controllers in the
//   parent's cgroup.subtree_control.
// - cgroup v1: one directory per controller, <memory mount>/<parent>/<name>
//   with memory.limit_in_bytes (and memory.memsw.limit_in_bytes where swap is
//   accounted), <pids mount>/... with pids.max and <cpu mount>/... with
//   cpu.cfs_quota_us, and <cpuacct mount>/... (the same directory when
//   cpu and cpuacct share a mount) whose cpuacct.usage meters its CPU.
//
// Each cgroup also meters its job (Usage): CPU time of every process it
// held, dead ones included (v2 cpu.stat usage_usec, v1 cpuacct.usage), and
// the peak of its memory (v2 memory.peak, v1 memory.max_usage_in_bytes).
//
// Thread-safe: each method touches only the files of the cgroup it names.
#ifndef TRENODE_ADAPTERS_ONPREM_CGROUPS_H_
#define TRENODE_ADAPTERS_ONPREM_CGROUPS_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::adapters {

enum class CgroupVersion { kV1, kV2 };

// Where the controllers a job needs are mounted.
struct CgroupLayout {
  CgroupVersion version = CgroupVersion::kV2;
  std::string unified;  // v2: the mount of the unified hierarchy
  std::string memory;   // v1: the mounts of each controller's hierarchy
  std::string pids;
  std::string cpu;  // v1, optional (jobs then have no CPU bandwidth limit)
  std::string cpuacct;  // v1, optional (jobs' CPU time is then not metered)
};

// The layout from `mounts` (the text of /proc/self/mounts): the unified
// hierarchy if it has the memory and pids controllers (its
// cgroup.controllers, read with `read_file`, lists them), otherwise v1 if
// memory and pids are mounted, otherwise nullopt (e.g. a hybrid system whose
// cgroup2 mount holds no controllers counts as v1).
std::optional<CgroupLayout> FindCgroupLayout(
    absl::string_view mounts,
    const std::function<std::optional<std::string>(const std::string&)>& read_file);

struct CgroupLimits {
  int64_t memory_bytes = 0;  // all processes and their tmpfs pages together
  int64_t tasks = 0;         // processes and threads at once
  double cpus = 1.0;         // CPU bandwidth in CPUs; 0: unlimited
};

// What a cgroup's processes have used so far; -1 where the kernel does not
// say (no cpuacct hierarchy; memory.peak before Linux 5.19).
struct CgroupUsage {
  int64_t cpu_micros = -1;
  int64_t peak_memory_bytes = -1;
};

class Cgroups {
 public:
  // The cgroups under `parent` (a relative path such as "trenode", created
  // if missing) of this machine's hierarchy. FailedPrecondition saying why
  // when there is no usable one (no memory or pids controller mounted, or
  // the node may not create cgroups: not root, read-only).
  static absl::StatusOr<std::unique_ptr<Cgroups>> Open(const std::string& parent);
  // As Open, with the hierarchy's layout given.
  static absl::StatusOr<std::unique_ptr<Cgroups>> Open(const CgroupLayout& layout,
                                                       const std::string& parent);

  virtual ~Cgroups() = default;

  virtual CgroupVersion version() const = 0;

  // Creates the cgroup `name` (one path component) under the parent with
  // `limits`, emptying and replacing a leftover of that name first.
  // Unavailable on failure, leaving nothing.
  virtual absl::Status Create(const std::string& name, const CgroupLimits& limits) = 0;
  // Moves process `pid` (with its threads) into the cgroup. Unavailable on
  // failure.
  virtual absl::Status Enter(const std::string& name, pid_t pid) = 0;
  // How many processes the kernel's OOM killer has killed in the cgroup (0
  // if it does not exist).
  virtual int64_t OomKills(const std::string& name) const = 0;
  // What the cgroup's processes used, dead ones included; read it before
  // Destroy (all -1 if it does not exist).
  virtual CgroupUsage Usage(const std::string& name) const = 0;
  // SIGKILLs every process in the cgroup until it is empty, then removes it.
  // OK if it does not exist; Unavailable if it could not be removed within a
  // few seconds.
  virtual absl::Status Destroy(const std::string& name) = 0;
  // The names of the cgroups under the parent.
  virtual std::vector<std::string> Children() const = 0;

  // The directories the cgroup consists of (one on v2; one per controller
  // on v1), and the files holding its memory and task limits.
  virtual std::vector<std::filesystem::path> Directories(const std::string& name) const = 0;
  virtual std::filesystem::path MemoryLimitFile(const std::string& name) const = 0;
  virtual std::filesystem::path TasksLimitFile(const std::string& name) const = 0;
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_ONPREM_CGROUPS_H_
