// Escapes tried from inside the sandbox, each refused, run on every real
// backend (the bubblewrap sandbox directly, and through Slurm): network,
// other data, writes outside the outbox, identity and environment, and
// runaway processes, memory, CPU and output (the limits hold).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
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

  JobStatus Run(const std::string& id, std::vector<std::string> command,
                const std::function<void(ComputeLimits&)>& adjust = nullptr) {
    JobSpec spec;
    spec.job_id = id;
    spec.code_dir = dir_.File("code");
    spec.command = std::move(command);
    spec.datasets = {{"mine", dir_.File("mine.sqlite")}};
    spec.limits.wall = absl::Seconds(30);
    if (adjust) adjust(spec.limits);
    if (backend_ == nullptr) return JobStatus();
    EXPECT_TRUE(backend_->Submit(spec).ok());
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
  JobStatus status = this->Run("bomb", {"/bin/sh", "-c", "b() { b | b & }; b; sleep 60"},
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

}  // namespace
}  // namespace trenode::adapters
