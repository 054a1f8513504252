// Finding the cgroup hierarchy from mount tables of each kind of machine,
// and (as root, where one is usable) a job's cgroup on this machine's real
// hierarchy: its limits, a process moved into it, the OOM killer's count and
// its removal.
#include "adapters/onprem/cgroups.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <cstring>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trenode::adapters {
namespace {

using Files = std::map<std::string, std::string>;

std::optional<CgroupLayout> Find(const std::string& mounts, const Files& files) {
  return FindCgroupLayout(mounts, [&](const std::string& path) -> std::optional<std::string> {
    auto found = files.find(path);
    if (found == files.end()) return std::nullopt;
    return found->second;
  });
}

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

TEST(FindCgroupLayoutTest, UnifiedHierarchyWithItsControllersIsV2) {
  std::optional<CgroupLayout> layout = Find(
      "sysfs /sys sysfs rw,nosuid 0 0\n"
      "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n",
      {{"/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n"}});
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->version, CgroupVersion::kV2);
  EXPECT_EQ(layout->unified, "/sys/fs/cgroup");
}

TEST(FindCgroupLayoutTest, HybridMachineUsesTheV1ControllersAndTheRightCpuMount) {
  // The cgroup2 mount holds no controllers; cpuset is not cpu; cpu shares a
  // mount with cpuacct.
  std::optional<CgroupLayout> layout = Find(
      "tmpfs /sys/fs/cgroup tmpfs ro,mode=755 0 0\n"
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n"
      "cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
      "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n"
      "cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,xattr,name=systemd 0 0\n"
      "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
      "cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0\n",
      {{"/sys/fs/cgroup/unified/cgroup.controllers", "\n"}});
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->version, CgroupVersion::kV1);
  EXPECT_EQ(layout->memory, "/sys/fs/cgroup/memory");
  EXPECT_EQ(layout->pids, "/sys/fs/cgroup/pids");
  EXPECT_EQ(layout->cpu, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(layout->cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
}

TEST(FindCgroupLayoutTest, SeparateCpuacctMountMetersCpu) {
  std::optional<CgroupLayout> layout = Find(
      "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
      "cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0\n"
      "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
      "cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0\n",
      {});
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->cpu, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(layout->cpuacct, "/sys/fs/cgroup/cpuacct");
}

TEST(FindCgroupLayoutTest, UnifiedHierarchyWithoutPidsFallsBackToV1) {
  std::optional<CgroupLayout> layout = Find(
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
      "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
      "cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0\n",
      {{"/sys/fs/cgroup/unified/cgroup.controllers", "cpu memory"}});
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->version, CgroupVersion::kV1);
  EXPECT_EQ(layout->cpu, "");  // no cpu controller: jobs get no CPU bandwidth limit
}

TEST(FindCgroupLayoutTest, NothingUsableWithoutMemoryAndPids) {
  EXPECT_FALSE(Find("proc /proc proc rw 0 0\n", {}).has_value());
  EXPECT_FALSE(Find("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
                    "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n",
                    {})
                   .has_value());
  // An unreadable cgroup.controllers is not a usable unified hierarchy.
  EXPECT_FALSE(Find("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", {}).has_value());
}

TEST(CgroupsOpenTest, RefusesParentsOutsideTheHierarchy) {
  CgroupLayout layout;
  layout.unified = "/sys/fs/cgroup";
  for (const char* parent : {"", "/trenode", "../trenode", "trenode/../../x", "."}) {
    EXPECT_EQ(Cgroups::Open(layout, parent).status().code(), absl::StatusCode::kInvalidArgument)
        << parent;
  }
}

TEST(CgroupsOpenTest, AHierarchyTheNodeCannotWriteIsNotUsable) {
  CgroupLayout v2;
  v2.unified = "/nonexistent-cgroup-mount";
  EXPECT_EQ(Cgroups::Open(v2, "trenode").status().code(), absl::StatusCode::kFailedPrecondition);
  CgroupLayout v1;
  v1.version = CgroupVersion::kV1;
  v1.memory = v1.pids = "/proc/self";  // no directory can be made there
  EXPECT_EQ(Cgroups::Open(v1, "trenode").status().code(), absl::StatusCode::kFailedPrecondition);
}

// A child that waits for a byte on a pipe before running `then`.
class Child {
 public:
  explicit Child(const std::function<void()>& then) {
    EXPECT_EQ(::pipe(go_), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(go_[1]);
      char c;
      if (::read(go_[0], &c, 1) == 1) then();
      ::_exit(0);
    }
    ::close(go_[0]);
  }
  ~Child() {
    if (go_[1] >= 0) ::close(go_[1]);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  pid_t pid() const { return pid_; }
  void Go() {
    EXPECT_EQ(::write(go_[1], "g", 1), 1);
    ::close(go_[1]);
    go_[1] = -1;
  }
  int Wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  }

 private:
  int go_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool reaped_ = false;
};

class RealCgroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto opened = Cgroups::Open(parent_);
    if (!opened.ok()) GTEST_SKIP() << "no usable cgroups here: " << opened.status();
    cgroups_ = *std::move(opened);
  }
  void TearDown() override {
    if (cgroups_ == nullptr) return;
    for (const std::string& name : cgroups_->Children()) EXPECT_TRUE(cgroups_->Destroy(name).ok());
    for (const auto& dir : cgroups_->Directories("x")) ::rmdir(dir.parent_path().c_str());
  }

  const std::string parent_ = absl::StrCat("trenode-cgroups-test-", ::getpid());
  std::unique_ptr<Cgroups> cgroups_;
};

TEST_F(RealCgroupsTest, JobCgroupHoldsItsLimitsAndItsProcessAndIsRemovedWithIt) {
  CgroupLimits limits{.memory_bytes = 64 << 20, .tasks = 10, .cpus = 0.5};
  ASSERT_TRUE(cgroups_->Create("job@1", limits).ok());
  EXPECT_EQ(Read(cgroups_->MemoryLimitFile("job@1")), "67108864");
  EXPECT_EQ(Read(cgroups_->TasksLimitFile("job@1")), "10");
  std::filesystem::path dir = cgroups_->Directories("job@1").front();
  if (cgroups_->version() == CgroupVersion::kV2) {
    EXPECT_EQ(Read(dir / "cpu.max"), "50000 100000");
    EXPECT_EQ(Read(dir / "memory.oom.group"), "1");
  } else {
    std::vector<std::filesystem::path> dirs = cgroups_->Directories("job@1");
    ASSERT_GE(dirs.size(), 3u);  // memory, pids, cpu (and cpuacct where mounted apart)
    EXPECT_EQ(Read(dirs[2] / "cpu.cfs_quota_us"), "50000");
  }
  EXPECT_EQ(cgroups_->Children(), std::vector<std::string>{"job@1"});

  Child child([] { ::pause(); });
  ASSERT_TRUE(cgroups_->Enter("job@1", child.pid()).ok());
  std::string membership = Read(absl::StrCat("/proc/", child.pid(), "/cgroup"));
  EXPECT_TRUE(absl::StrContains(membership, absl::StrCat("/", parent_, "/job@1\n")) ||
              absl::EndsWith(membership, absl::StrCat("/", parent_, "/job@1")))
      << membership;

  ASSERT_TRUE(cgroups_->Destroy("job@1").ok());
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  for (const auto& part : cgroups_->Directories("job@1")) {
    EXPECT_FALSE(std::filesystem::exists(part)) << part;
  }
  EXPECT_TRUE(cgroups_->Children().empty());
  EXPECT_TRUE(cgroups_->Destroy("job@1").ok());  // gone already: nothing to do
}

TEST_F(RealCgroupsTest, OverTheMemoryLimitTheProcessIsKilledAndCounted) {
  ASSERT_TRUE(cgroups_->Create("hog@1", {.memory_bytes = 32 << 20, .tasks = 10, .cpus = 1}).ok());
  EXPECT_EQ(cgroups_->OomKills("hog@1"), 0);
  Child child([] {
    for (int i = 0; i < 16; ++i) {
      char* block = static_cast<char*>(::malloc(16 << 20));
      if (block != nullptr) std::memset(block, 1, 16 << 20);
    }
    ::_exit(3);  // not reached: 256 MiB do not fit in 32
  });
  ASSERT_TRUE(cgroups_->Enter("hog@1", child.pid()).ok());
  child.Go();
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_GE(cgroups_->OomKills("hog@1"), 1);
  EXPECT_TRUE(cgroups_->Destroy("hog@1").ok());
}

// Metering reads the kernel's counters: a child that burns a known amount of
// its own CPU time is charged that, within 20 %, after it has exited.
TEST_F(RealCgroupsTest, MetersTheCpuTimeAndPeakMemoryOfDeadProcesses) {
  ASSERT_TRUE(cgroups_->Create("burn@1", {.memory_bytes = 256 << 20, .tasks = 10, .cpus = 0}).ok());
  Child child([] {
    // Every page touched through a volatile pointer, so that the compiler
    // cannot leave the allocation out.
    volatile char* block = static_cast<volatile char*>(::malloc(32 << 20));
    for (int i = 0; block != nullptr && i < (32 << 20); i += 4096) block[i] = 1;
    timespec used{};
    do {
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
    } while (used.tv_sec < 1);
    ::_exit(block != nullptr ? 0 : 1);
  });
  ASSERT_TRUE(cgroups_->Enter("burn@1", child.pid()).ok());
  child.Go();
  int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  CgroupUsage usage = cgroups_->Usage("burn@1");
  if (usage.cpu_micros < 0) GTEST_SKIP() << "no cpuacct hierarchy here";
  EXPECT_NEAR(usage.cpu_micros, 1'000'000, 200'000);
  if (usage.peak_memory_bytes >= 0) EXPECT_GE(usage.peak_memory_bytes, 32 << 20);
  EXPECT_TRUE(cgroups_->Destroy("burn@1").ok());
  EXPECT_EQ(cgroups_->Usage("burn@1").cpu_micros, -1);
}

TEST_F(RealCgroupsTest, ForksPastTheTaskLimitFail) {
  ASSERT_TRUE(cgroups_->Create("forks@1", {.memory_bytes = 64 << 20, .tasks = 4, .cpus = 1}).ok());
  Child child([] {
    int started = 0;
    for (int i = 0; i < 10; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::pause();
        ::_exit(0);
      }
      if (pid > 0) ++started;
    }
    ::_exit(started);  // the child itself is one of the 4 tasks
  });
  ASSERT_TRUE(cgroups_->Enter("forks@1", child.pid()).ok());
  child.Go();
  int status = child.Wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_TRUE(cgroups_->Destroy("forks@1").ok());  // kills the paused ones
}

}  // namespace
}  // namespace trenode::adapters
