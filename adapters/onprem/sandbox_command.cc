#include "adapters/onprem/sandbox_command.h"

#include "absl/strings/str_cat.h"

namespace trenode::adapters {

std::vector<std::string> SandboxArgv(const SandboxTools& tools, const JobSpec& spec,
                                     const std::string& outbox, uid_t uid, int seccomp_fd) {
  std::vector<std::string> argv = {tools.bwrap,
                                   "--unshare-net",
                                   "--unshare-pid",
                                   "--unshare-ipc",
                                   "--unshare-uts",
                                   "--unshare-cgroup-try",
                                   "--die-with-parent",
                                   "--new-session",
                                   "--clearenv",
                                   "--setenv",
                                   "PATH",
                                   "/usr/local/bin:/usr/bin:/bin",
                                   "--setenv",
                                   "HOME",
                                   "/tmp",
                                   "--setenv",
                                   "TMPDIR",
                                   "/tmp",
                                   "--setenv",
                                   "LANG",
                                   "C.UTF-8",
                                   "--ro-bind",
                                   "/usr",
                                   "/usr",
                                   "--symlink",
                                   "usr/bin",
                                   "/bin",
                                   "--symlink",
                                   "usr/sbin",
                                   "/sbin",
                                   "--symlink",
                                   "usr/lib",
                                   "/lib",
                                   "--symlink",
                                   "usr/lib64",
                                   "/lib64",
                                   "--proc",
                                   "/proc",
                                   "--dev",
                                   "/dev",
                                   "--perms",
                                   "1777",
                                   "--size",
                                   absl::StrCat(spec.limits.memory_bytes),
                                   "--tmpfs",
                                   "/tmp",
                                   "--perms",
                                   "0755",
                                   "--dir",
                                   "/job",
                                   "--perms",
                                   "0755",
                                   "--dir",
                                   "/data",
                                   "--ro-bind",
                                   spec.code_dir,
                                   "/job/code",
                                   "--bind",
                                   outbox,
                                   "/job/outbox"};
  for (const DatasetMount& dataset : spec.datasets) {
    argv.insert(argv.end(),
                {"--ro-bind", dataset.path, absl::StrCat("/data/", dataset.name, ".sqlite")});
  }
  std::string id = absl::StrCat(uid);
  argv.insert(argv.end(), {"--seccomp", absl::StrCat(seccomp_fd), "--chdir", "/job/code", "--",
                           tools.setpriv, "--reuid", id, "--regid", id, "--clear-groups",
                           "--no-new-privs", "--bounding-set", "-all", "--inh-caps", "-all", "--"});
  argv.insert(argv.end(), spec.command.begin(), spec.command.end());
  return argv;
}

std::vector<std::string> LimitedSandboxArgv(const SandboxTools& tools, const JobSpec& spec,
                                            const std::string& outbox, uid_t uid,
                                            int seccomp_fd) {
  const ComputeLimits& limits = spec.limits;
  int64_t cpu = absl::ToInt64Seconds(limits.cpu) + 1;
  std::vector<std::string> argv = {
      tools.prlimit,
      absl::StrCat("--cpu=", cpu, ":", cpu + 1),  // SIGXCPU, then SIGKILL
      absl::StrCat("--as=", limits.memory_bytes),
      absl::StrCat("--fsize=", limits.output_bytes),
      absl::StrCat("--nproc=", limits.processes),
      "--core=0",
      "--nofile=1024",
      "--"};
  std::vector<std::string> sandbox = SandboxArgv(tools, spec, outbox, uid, seccomp_fd);
  argv.insert(argv.end(), sandbox.begin(), sandbox.end());
  return argv;
}

}  // namespace trenode::adapters
