#include "tests/testutil/slurm_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/onprem/command.h"

namespace trenode::testing {
namespace fs = std::filesystem;
namespace {

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Most of this machine's memory, in MiB (slurmd drains a node that has less
// than its configuration says).
int64_t MemoryMegabytes() {
  int64_t bytes = static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
  return bytes / 10 * 9 >> 20;
}

// A job id range of this cluster's own: 1000 + 6,000 * (0..9999), below
// Slurm's MaxJobId (67,043,328), which slurmctld refuses to start past.
int64_t FirstJobId() {
  std::random_device random;
  return 1000 + int64_t{6000} * (random() % 10000);
}

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void KillFromPidFile(const fs::path& path) {
  int pid;
  if (absl::SimpleAtoi(absl::StripAsciiWhitespace(Read(path)), &pid) && pid > 1) {
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) absl::SleepFor(absl::Milliseconds(50));
    ::kill(pid, SIGKILL);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SlurmCluster>> SlurmCluster::Start(const std::string& dir) {
  std::unique_ptr<SlurmCluster> cluster(new SlurmCluster(dir));
  fs::path root(dir);
  for (const char* sub : {"state", "spool", "log"}) fs::create_directories(root / sub);
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  {
    std::ofstream key(root / "munge.key", std::ios::binary);
    std::ifstream random("/dev/urandom", std::ios::binary);
    std::string bytes(1024, '\0');
    random.read(bytes.data(), bytes.size());
    key << bytes;
  }
  fs::permissions(root / "munge.key", fs::perms::owner_read | fs::perms::owner_write);
  std::string socket = (root / "munge.sock").string();
  cluster->conf_ = (root / "slurm.conf").string();
  {
    std::ofstream conf(cluster->conf_);
    conf << "ClusterName=trenodetest\n"
         << "SlurmctldHost=" << host << "(127.0.0.1)\n"
         << "SlurmctldPort=" << FreePort() << "\n"
         << "SlurmdPort=" << FreePort() << "\n"
         << "AuthType=auth/munge\nCredType=cred/munge\n"
         << "AuthInfo=socket=" << socket << "\n"
         << "StateSaveLocation=" << (root / "state").string() << "\n"
         << "SlurmdSpoolDir=" << (root / "spool").string() << "\n"
         << "SlurmctldPidFile=" << (root / "slurmctld.pid").string() << "\n"
         << "SlurmdPidFile=" << (root / "slurmd.pid").string() << "\n"
         << "SlurmctldLogFile=" << (root / "log" / "slurmctld.log").string() << "\n"
         << "SlurmdLogFile=" << (root / "log" / "slurmd.log").string() << "\n"
         << "SlurmUser=root\nSlurmdUser=root\n"
         // Jobs tracked by cgroup, so that jobs are metered from Slurm's
         // own counters (adapters/onprem/slurm_backend.h).
         << "ProctrackType=proctrack/cgroup\nTaskPlugin=task/none\n"
         << "SchedulerType=sched/builtin\nSelectType=select/cons_tres\n"
         << "SelectTypeParameters=CR_Core\nReturnToService=2\nMpiDefault=none\n"
         << "JobAcctGatherType=jobacct_gather/cgroup\n"
         // Slurm's cgroups are named by job id on this host, which other
         // test clusters share: their ids must not meet.
         << "FirstJobId=" << FirstJobId() << "\n"
         << "AccountingStorageType=accounting_storage/none\nJobCompType=jobcomp/none\n"
         << "MinJobAge=600\n"
         // Jobs ask for their memory (sbatch --mem): the node must have it.
         << "NodeName=" << host << " NodeAddr=127.0.0.1 CPUs=2 RealMemory=" << MemoryMegabytes()
         << " State=UNKNOWN\n"
         << "PartitionName=debug Nodes=" << host << " Default=YES MaxTime=INFINITE State=UP\n";
  }
  {
    // Read from slurm.conf's directory.
    std::ofstream cgroup(root / "cgroup.conf");
    cgroup << "CgroupMountpoint=/sys/fs/cgroup\n";
  }
  std::vector<std::string> env = {absl::StrCat("SLURM_CONF=", cluster->conf_)};
  auto run = [&](std::vector<std::string> argv) -> absl::Status {
    auto result = adapters::RunCommand(argv, env);
    if (!result.ok()) return result.status();
    if (result->exit_code != 0) {
      return absl::UnavailableError(absl::StrCat(argv[0], " failed: ", result->err));
    }
    return absl::OkStatus();
  };
  absl::Status started =
      run({"/usr/sbin/munged", "--force", "--key-file=" + (root / "munge.key").string(),
           "--socket=" + socket, "--pid-file=" + (root / "munged.pid").string(),
           "--log-file=" + (root / "log" / "munged.log").string(),
           "--seed-file=" + (root / "munged.seed").string()});
  if (started.ok()) started = run({"/usr/sbin/slurmctld", "-i", "-f", cluster->conf_});
  if (started.ok()) started = run({"/usr/sbin/slurmd", "-f", cluster->conf_});
  if (!started.ok()) return started;
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    auto state = adapters::RunCommand({"/usr/bin/sinfo", "-h", "-o", "%t"}, env);
    if (state.ok() && absl::StrContains(state->out, "idle")) return cluster;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::UnavailableError(absl::StrCat("the test Slurm cluster did not come up:\n",
                                             Read(root / "log" / "slurmctld.log"),
                                             Read(root / "log" / "slurmd.log")));
}

SlurmCluster::~SlurmCluster() { Stop(); }

void SlurmCluster::Stop() {
  fs::path root(dir_);
  KillFromPidFile(root / "slurmd.pid");
  KillFromPidFile(root / "slurmctld.pid");
  KillFromPidFile(root / "munged.pid");
}

}  // namespace trenode::testing
