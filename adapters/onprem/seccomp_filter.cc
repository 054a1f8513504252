#include "adapters/onprem/seccomp_filter.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace trenode::adapters {
namespace {

// clone flags that make a namespace (CLONE_NEWTIME shares its bit with the
// exit signal in clone's flags and is only reachable through clone3 and
// unshare, both refused).
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                        CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

struct ContextDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

absl::Status Failed(const char* what, int result) {
  return absl::InternalError(absl::StrCat("seccomp: ", what, ": ", std::strerror(-result)));
}

}  // namespace

const std::vector<std::string>& RefusedSyscalls() {
  static const auto* const names = new std::vector<std::string>{
      // Keyrings are not namespaced.
      "add_key", "request_key", "keyctl",
      // Other processes' memory and descriptors.
      "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
      // Kernel attack surface.
      "perf_event_open", "bpf", "userfaultfd", "kexec_load", "kexec_file_load", "init_module",
      "finit_module", "delete_module", "swapon", "swapoff", "reboot",
      // Mounts, old and new interface.
      "mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
      "open_tree", "mount_setattr",
      // Namespaces.
      "setns", "unshare",
      // File handles bypass the mount namespace's view.
      "open_by_handle_at", "name_to_handle_at"};
  return *names;
}

absl::StatusOr<std::string> CompileJobSeccompFilter(bool deny_network) {
  std::unique_ptr<void, ContextDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (ctx == nullptr) return absl::InternalError("seccomp: cannot initialise a filter");
  for (const std::string& name : RefusedSyscalls()) {
    int number = seccomp_syscall_resolve_name(name.c_str());
    if (number < 0) continue;  // not a system call on this architecture
    if (int added = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), number, 0); added != 0) {
      return Failed(name.c_str(), added);
    }
  }
  for (uint64_t flag : kNamespaceFlags) {
    int added = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                 SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    if (added != 0) return Failed("clone", added);
  }
  if (int added = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
      added != 0) {
    return Failed("clone3", added);
  }
  if (deny_network) {
    int added = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                 SCMP_A0(SCMP_CMP_NE, AF_UNIX));
    if (added != 0) return Failed("socket", added);
    for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"}) {
      int number = seccomp_syscall_resolve_name(name);
      if (number < 0) continue;
      added = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), number, 0);
      if (added != 0) return Failed(name, added);
    }
  }
  int fd = ::memfd_create("trenode-seccomp", MFD_CLOEXEC);
  if (fd < 0) return absl::InternalError("seccomp: memfd_create failed");
  int exported = seccomp_export_bpf(ctx.get(), fd);
  std::string program;
  if (exported == 0 && ::lseek(fd, 0, SEEK_SET) == 0) {
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) program.append(buffer, n);
  }
  ::close(fd);
  if (exported != 0) return Failed("export", exported);
  if (program.empty()) return absl::InternalError("seccomp: the exported filter is empty");
  return program;
}

absl::StatusOr<int> SeccompProgramFd(const std::string& program) {
  int created = ::memfd_create("trenode-seccomp", MFD_CLOEXEC);
  if (created < 0) return absl::UnavailableError("cannot create a memfd for the seccomp filter");
  int fd = ::fcntl(created, F_DUPFD_CLOEXEC, 3);
  ::close(created);
  if (fd < 0) return absl::UnavailableError("cannot create a memfd for the seccomp filter");
  size_t written = 0;
  while (written < program.size()) {
    ssize_t n = ::write(fd, program.data() + written, program.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  if (written != program.size() || ::lseek(fd, 0, SEEK_SET) != 0) {
    ::close(fd);
    return absl::UnavailableError("cannot write the seccomp filter");
  }
  return fd;
}

}  // namespace trenode::adapters
