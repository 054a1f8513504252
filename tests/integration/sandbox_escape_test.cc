// Escapes tried from inside the sandbox, each refused, run on every real
// backend (the bubblewrap sandbox directly, and through Slurm): network,
// other data, writes outside the outbox, identity and environment, system
// calls the seccomp filter refuses, and runaway processes, memory, CPU and
// output (the limits hold; on the sandbox, the job's cgroup bounds its
// processes and /tmp together).
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "adapters/onprem/command.h"
#include "gtest/gtest.h"
#include "tests/testutil/compute_backends.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters {
namespace {

template <typename Factory>
class SandboxEscapeTest : public ::testing::Test {
 protected:
  SandboxEscapeTest() {
    std::filesystem::create_directories(dir_.File("code"));
    testing::WriteFile(dir_.path() / "code" / "probe.py", "");
    testing::WriteFile(dir_.path() / "mine.sqlite", "my project's data");
    testing::WriteFile(dir_.path() / "theirs.sqlite", "another project's data");
    backend_ = Factory::Make(dir_);
  }

  static constexpr bool kOnSlurm = std::is_same_v<Factory, testing::SlurmFactory>;

  // Submits the job; false if it could not be.
  bool Start(const std::string& id, std::vector<std::string> command,
             const std::function<void(ComputeLimits&)>& adjust = nullptr) {
    JobSpec spec;
    spec.job_id = id;
    spec.code_dir = dir_.File("code");
    spec.command = std::move(command);
    spec.datasets = {{"mine", dir_.File("mine.sqlite")}};
    spec.limits.wall = absl::Seconds(30);
    if (adjust) adjust(spec.limits);
    if (backend_ == nullptr) return false;
    absl::Status submitted = backend_->Submit(spec);
    EXPECT_TRUE(submitted.ok()) << submitted;
    return submitted.ok();
  }

  JobStatus Run(const std::string& id, std::vector<std::string> command,
                const std::function<void(ComputeLimits&)>& adjust = nullptr) {
    if (!Start(id, std::move(command), adjust)) return JobStatus();
    return WaitForEnd(id);
  }

  JobStatus WaitForEnd(const std::string& id) {
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      auto status = backend_->Status(id);
      if (status.ok() && IsFinished(status->state)) return *status;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << id << " did not end";
    return JobStatus();
  }

  JobStatus Python(const std::string& id, const std::string& program,
                   const std::function<void(ComputeLimits&)>& adjust = nullptr) {
    return Run(id, {"/usr/bin/python3", "-c", program}, adjust);
  }

  // The sandbox backend, when its jobs run in cgroups; else null.
  SandboxBackend* InCgroups() {
    auto* sandbox = dynamic_cast<SandboxBackend*>(backend_.get());
    return sandbox != nullptr && sandbox->cgroups() != nullptr ? sandbox : nullptr;
  }

  // Resident memory of this process (standing in for the node), in KiB.
  static int64_t OwnResidentKib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      int64_t kib;
      if (absl::StartsWith(line, "VmRSS:") &&
          absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(line.substr(6)), " kB"),
                           &kib)) {
        return kib;
      }
    }
    return -1;
  }

  // Slurm's record of what the job asked for, as squeue prints it (e.g.
  // "256M" for its memory with format "%m"), or "" once it has left.
  static std::string SlurmField(const std::string& id, const std::string& format) {
    auto listed = RunCommand({"/usr/bin/squeue", "-h", "-n", "trenode-" + id, "-o", format},
                             {"SLURM_CONF=" + testing::SlurmEnvironment::Cluster()->conf()});
    return listed.ok() ? std::string(absl::StripAsciiWhitespace(listed->out)) : "";
  }

  // Processes on the host running as one of this test process's job uids.
  static int JobProcesses() {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::ifstream status(entry.path() / "status");
      std::string line;
      while (std::getline(status, line)) {
        if (absl::StartsWith(line, "Uid:")) {
          std::vector<std::string> ids = absl::StrSplit(line, '\t', absl::SkipEmpty());
          int uid = ids.size() > 1 ? std::stoi(ids[1]) : 0;
          int first = static_cast<int>(testing::TestFirstUid());
          count += uid >= first && uid < first + 64;
          break;
        }
      }
    }
    return count;
  }

  testing::TempDir dir_;
  std::unique_ptr<ComputeBackend> backend_;
};

using Backends = ::testing::Types<testing::SandboxFactory, testing::SlurmFactory>;
TYPED_TEST_SUITE(SandboxEscapeTest, Backends);

TYPED_TEST(SandboxEscapeTest, NoNetworkNotEvenTheHostsLoopback) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);
  JobStatus status =
      this->Python("net", absl::StrCat(R"py(
import socket
results = []
for host, port in [("127.0.0.1", )py",
                                       port, R"py(), ("1.1.1.1", 443), ("10.0.0.1", 80)]:
    try:
        socket.create_connection((host, port), timeout=2)
        results.append("CONNECTED %s" % host)
    except OSError as e:
        results.append("refused")
open("/job/outbox/net.txt", "w").write(",".join(results))
)py"));
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  EXPECT_EQ(testing::ReadFile(std::filesystem::path(status.outbox_dir) / "net.txt"),
            "refused,refused,refused");
  ::close(listener);
}

// Descriptors the node holds without close-on-exec (a library's accepted
// connections, say: the JSON API's HTTP server makes such) never reach the
// job, which could otherwise write to a researcher's open connection past
// every output check.
TYPED_TEST(SandboxEscapeTest, InheritsNoDescriptorOfTheNode) {
  const int socket = ::socket(AF_INET, SOCK_STREAM, 0);
  const int file = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(socket, 3);
  ASSERT_GE(file, 3);
  JobStatus status = this->Run("fds", {"/bin/sh", "-c", "ls /proc/self/fd > /job/outbox/fds"});
  ::close(socket);
  ::close(file);
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  // ls's own directory is the 3.
  EXPECT_EQ(testing::ReadFile(std::filesystem::path(status.outbox_dir) / "fds"), "0\n1\n2\n3\n");
}

TYPED_TEST(SandboxEscapeTest, SeesOnlyItsOwnDataAndCannotWriteOutsideTheOutbox) {
  JobStatus status =
      this->Python("files", absl::StrCat(R"py(
import os
found = {"data": sorted(os.listdir("/data")), "root": sorted(os.listdir("/"))}
for path in [")py",
                                         this->dir_.File("theirs.sqlite"),
                                         R"py(", "/etc/shadow", "/proc/1/root/etc/hostname"]:
    try:
        open(path).read()
        found[path] = "READ"
    except OSError:
        found[path] = "refused"
for path in ["/data/mine.sqlite", "/data/new", "/job/code/probe.py", "/job/code/new",
             "/usr/bin/new", "/new", "/bin/new"]:
    try:
        open(path, "a").write("x")
        found["write " + path] = "WROTE"
    except OSError:
        found["write " + path] = "refused"
found["mine"] = open("/data/mine.sqlite").read()
open("/tmp/scratch", "w").write("tmp is private and writable")
found["uid"] = os.getuid()
found["env"] = sorted(os.environ)
open("/job/outbox/found.txt", "w").write(repr(found))
)py"));
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  std::string found = testing::ReadFile(std::filesystem::path(status.outbox_dir) / "found.txt");
  EXPECT_TRUE(absl::StrContains(found, "'data': ['mine.sqlite']")) << found;
  EXPECT_TRUE(absl::StrContains(found,
                                "'root': ['bin', 'data', 'dev', 'job', 'lib', 'lib64', "
                                "'proc', 'sbin', 'tmp', 'usr']"))
      << found;
  EXPECT_FALSE(absl::StrContains(found, "READ")) << found;
  EXPECT_FALSE(absl::StrContains(found, "WROTE")) << found;
  EXPECT_TRUE(absl::StrContains(found, "'mine': \"my project's data\"")) << found;
  EXPECT_FALSE(absl::StrContains(found, "'uid': 0,")) << found;
  EXPECT_TRUE(absl::StrContains(found, "'env': ['HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR']"))
      << found;
  // Nothing changed on the host.
  EXPECT_EQ(testing::ReadFile(this->dir_.path() / "mine.sqlite"), "my project's data");
  EXPECT_EQ(testing::ReadFile(this->dir_.path() / "code" / "probe.py"), "");
  EXPECT_FALSE(std::filesystem::exists(this->dir_.path() / "code" / "new"));
}

TYPED_TEST(SandboxEscapeTest, ForkBombIsCappedAndKilledAtTheWallClock) {
  // The job's own shell forks exactly once, a subshell that sets the bomb
  // off, then execs into sleep: were it to fork again once the bomb fills the
  // task limit (as `b | b &` in the job's shell would, between the pipeline's
  // two forks) it would exit with "can't fork" (status 2) before the wall
  // clock.
  JobStatus status = this->Run("bomb", {"/bin/sh", "-c", "b() { b | b & }; (b) & exec sleep 60"},
                               [](ComputeLimits& limits) {
                                 limits.processes = 32;
                                 limits.wall = absl::Seconds(3);
                               });
  EXPECT_EQ(status.state, JobState::kFailed);
  EXPECT_EQ(status.reason, "wall-clock limit of 3s exceeded");
  // What is left in the job's namespaces is killed as the job ends; on a busy
  // machine reaping them can take a moment.
  int left = this->JobProcesses();
  for (int i = 0; i < 100 && left > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    left = this->JobProcesses();
  }
  EXPECT_EQ(left, 0) << "the bomb's processes outlived the job";
}

TYPED_TEST(SandboxEscapeTest, RunawayMemoryFailsInsideTheLimit) {
  JobStatus status = this->Python("memory", "x = bytearray(2 << 30)\nprint('ALLOCATED')",
                                  [](ComputeLimits& limits) { limits.memory_bytes = 256 << 20; });
  EXPECT_EQ(status.state, JobState::kFailed);
  EXPECT_EQ(status.reason, "exited with status 1");
  EXPECT_TRUE(absl::StrContains(status.stderr_text, "MemoryError")) << status.stderr_text;
  EXPECT_FALSE(absl::StrContains(status.stdout_text, "ALLOCATED"));
}

TYPED_TEST(SandboxEscapeTest, CpuAndOutputLimitsHold) {
  JobStatus spin = this->Run("spin", {"/bin/sh", "-c", "while :; do :; done"},
                             [](ComputeLimits& limits) { limits.cpu = absl::Seconds(1); });
  EXPECT_EQ(spin.state, JobState::kFailed);
  EXPECT_TRUE(absl::StartsWith(spin.reason, "CPU-time limit of 1s exceeded") ||
              spin.reason == "killed (CPU-time or memory limit)")
      << spin.reason;

  JobStatus big = this->Run("big", {"/bin/sh", "-c", "head -c 2000000 /dev/zero > /job/outbox/big"},
                            [](ComputeLimits& limits) { limits.output_bytes = 1 << 20; });
  EXPECT_EQ(big.state, JobState::kFailed);
  EXPECT_EQ(big.reason, "a file exceeded the output limit of 1048576 bytes");
  EXPECT_TRUE(std::filesystem::is_empty(big.outbox_dir));

  JobStatus many =
      this->Run("many", {"/bin/sh", "-c", "for i in 1 2 3 4; do echo $i > /job/outbox/$i; done"},
                [](ComputeLimits& limits) { limits.output_files = 3; });
  EXPECT_EQ(many.state, JobState::kFailed);
  EXPECT_EQ(many.reason, "the outbox holds more than 3 files");

  JobStatus link = this->Run("link", {"/bin/sh", "-c", "ln -s /etc/passwd /job/outbox/passwd"});
  EXPECT_EQ(link.state, JobState::kFailed);
  EXPECT_EQ(link.reason, "the outbox holds passwd, which is not a regular file");
}

// 128 MiB in /tmp (in files within the file-size limit), then three
// processes of 48 MiB each: the processes alone fit in 256 MiB, the
// processes and /tmp together do not.
constexpr char kHog[] = R"py(
import os, time
for i in range(4):
    with open("/tmp/fill%d" % i, "wb") as f:
        f.write(b"t" * (32 << 20))
print("TMP FILLED", flush=True)
children = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        block = b"m" * (48 << 20)
        time.sleep(10)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("SURVIVED", flush=True)
)py";

TYPED_TEST(SandboxEscapeTest, MemoryOfAllProcessesAndTmpTogetherIsBoundedAndTheNodeUnharmed) {
  constexpr int64_t kLimit = 256 << 20;
  auto limits = [](ComputeLimits& limits) {
    limits.memory_bytes = kLimit;
    limits.wall = absl::Seconds(25);
  };
  if constexpr (TestFixture::kOnSlurm) {
    // Slurm is asked for the job's memory; its cgroup plugin, which the test
    // cluster does not run, is what would enforce it.
    ASSERT_TRUE(this->Start("hog", {"/bin/sh", "-c", "sleep 30"}, limits));
    std::string requested;
    for (int i = 0; i < 100 && requested.empty(); ++i) {
      requested = this->SlurmField("hog", "%m");
      if (requested.empty()) absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(requested, "256M");
    EXPECT_TRUE(this->backend_->Cancel("hog").ok());
    EXPECT_EQ(this->WaitForEnd("hog").state, JobState::kCancelled);
    GTEST_SKIP() << "the test Slurm cluster runs without Slurm's cgroup plugin (task/cgroup)";
  }
  SandboxBackend* sandbox = this->InCgroups();
  if (sandbox == nullptr) GTEST_SKIP() << "no usable cgroup hierarchy on this machine";
  int64_t node_before = this->OwnResidentKib();
  ASSERT_TRUE(this->Start("hog", {"/usr/bin/python3", "-c", kHog}, limits));
  std::string cgroup = sandbox->JobCgroup("hog");
  ASSERT_FALSE(cgroup.empty());
  EXPECT_EQ(testing::ReadFile(sandbox->cgroups()->MemoryLimitFile(cgroup)), "268435456\n");
  std::vector<std::filesystem::path> parts = sandbox->cgroups()->Directories(cgroup);
  for (const auto& part : parts) EXPECT_TRUE(std::filesystem::is_directory(part)) << part;

  JobStatus status = this->WaitForEnd("hog");
  EXPECT_EQ(status.state, JobState::kFailed);
  EXPECT_EQ(status.failure, JobFailure::kKilled);
  EXPECT_EQ(status.reason, "killed: over the memory limit of 268435456 bytes");
  EXPECT_TRUE(absl::StrContains(status.stdout_text, "TMP FILLED"))
      << status.stdout_text << status.stderr_text;
  EXPECT_FALSE(absl::StrContains(status.stdout_text, "SURVIVED"));
  // The cgroup is gone, and nothing of the job is left.
  for (const auto& part : parts) EXPECT_FALSE(std::filesystem::exists(part)) << part;
  EXPECT_EQ(sandbox->JobCgroup("hog"), "");
  EXPECT_EQ(this->JobProcesses(), 0);
  // The node (this process) is alive and its memory is its own.
  EXPECT_LT(this->OwnResidentKib() - node_before, 32 << 10);
  // And it keeps running jobs.
  JobStatus after = this->Run("after", {"/bin/sh", "-c", "echo fine"});
  EXPECT_EQ(after.state, JobState::kSucceeded) << after.reason;
}

TYPED_TEST(SandboxEscapeTest, ForkingPastTheTaskLimitFailsInsideTheJob) {
  constexpr char kForks[] = R"py(
import os, time
pids, error = [], ""
while len(pids) < 200:
    try:
        pid = os.fork()
    except OSError as e:
        error = e.strerror
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    pids.append(pid)
print("forked %d then: %s" % (len(pids), error))
for pid in pids:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
time.sleep(1)
)py";
  ASSERT_TRUE(this->Start("forks", {"/usr/bin/python3", "-c", kForks},
                          [](ComputeLimits& limits) { limits.processes = 16; }));
  SandboxBackend* sandbox = this->InCgroups();
  std::vector<std::filesystem::path> parts;
  if (sandbox != nullptr) {
    std::string cgroup = sandbox->JobCgroup("forks");
    ASSERT_FALSE(cgroup.empty());
    // The job's 16 and bubblewrap's own two (bwrap and the namespace's init).
    EXPECT_EQ(testing::ReadFile(sandbox->cgroups()->TasksLimitFile(cgroup)), "18\n");
    parts = sandbox->cgroups()->Directories(cgroup);
  }
  JobStatus status = this->WaitForEnd("forks");
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  int forked = 0;
  std::string text(absl::StripAsciiWhitespace(status.stdout_text));
  ASSERT_TRUE(absl::StartsWith(text, "forked ")) << text;
  ASSERT_TRUE(absl::SimpleAtoi(text.substr(7, text.find(' ', 7) - 7), &forked)) << text;
  EXPECT_GT(forked, 0);
  EXPECT_LT(forked, 16);
  EXPECT_TRUE(absl::EndsWith(text, "Resource temporarily unavailable")) << text;
  for (const auto& part : parts) EXPECT_FALSE(std::filesystem::exists(part)) << part;
  EXPECT_EQ(this->JobProcesses(), 0);
}

TYPED_TEST(SandboxEscapeTest, RefusedSystemCallsFailWithEpermAndOrdinaryWorkSucceeds) {
  std::string program = absl::StrCat(R"py(
import ctypes, errno, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def arg(a):
    return ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a)
def call(name, number, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *[arg(a) for a in args])
    if result == 0 and name.startswith("clone"):
        os._exit(0)  # a child, had the call been allowed
    code = ctypes.get_errno()
    return "%s=%s" % (name, "ok" if result >= 0 else errno.errorcode.get(code, str(code)))
results = [
    call("keyctl", )py", SYS_keyctl, R"py(, 0, -3, 1),
    call("add_key", )py", SYS_add_key, R"py(, b"user", b"trenode", b"secret", 6, -2),
    call("ptrace", )py", SYS_ptrace, R"py(, 0, 0, 0, 0),
    call("unshare", )py", SYS_unshare, R"py(, )py", CLONE_NEWUSER, R"py(),
    call("mount", )py", SYS_mount, R"py(, b"none", b"/tmp", b"tmpfs", 0, 0),
    call("bpf", )py", SYS_bpf, R"py(, 0, 0, 0),
    call("clone_newns", )py", SYS_clone, R"py(, )py", CLONE_NEWNS | SIGCHLD, R"py(, 0, 0, 0, 0),
    call("clone3", )py", SYS_clone3, R"py(, 0, 0),
]
print(",".join(results))
box = []
worker = threading.Thread(target=lambda: box.append(open("/data/mine.sqlite").read()))
worker.start()
worker.join()
echoed = subprocess.run(["/bin/echo", "child"], capture_output=True, text=True).stdout.strip()
open("/job/outbox/work.txt", "w").write(box[0] + " / " + echoed)
)py");
  JobStatus status = this->Python("calls", program);
  ASSERT_EQ(status.state, JobState::kSucceeded) << status.reason << status.stderr_text;
  EXPECT_EQ(absl::StripAsciiWhitespace(status.stdout_text),
            "keyctl=EPERM,add_key=EPERM,ptrace=EPERM,unshare=EPERM,mount=EPERM,bpf=EPERM,"
            "clone_newns=EPERM,clone3=ENOSYS");
  EXPECT_EQ(testing::ReadFile(std::filesystem::path(status.outbox_dir) / "work.txt"),
            "my project's data / child");
}

}  // namespace
}  // namespace trenode::adapters
