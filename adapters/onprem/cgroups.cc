#include "adapters/onprem/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace trenode::adapters {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kCpuPeriodMicros = 100000;
constexpr absl::Duration kDestroyPatience = absl::Seconds(5);

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// 0 on success, else errno. Cgroup files take one write each.
int WriteFile(const fs::path& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t written = ::write(fd, text.data(), text.size());
  int error = written == static_cast<ssize_t>(text.size()) ? 0 : (written < 0 ? errno : EIO);
  ::close(fd);
  return error;
}

absl::Status Write(const fs::path& path, const std::string& text) {
  if (int error = WriteFile(path, text); error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", text, " to ", path.string(), ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

// Writes the file only where the kernel offers it.
absl::Status WriteIfPresent(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return absl::OkStatus();
  return Write(path, text);
}

// N from the line "key N" of a flat-keyed file such as memory.events.
int64_t ReadCounter(const fs::path& path, absl::string_view key) {
  std::optional<std::string> text = ReadFile(path);
  if (!text) return 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t value;
    if (words.size() == 2 && words[0] == key && absl::SimpleAtoi(words[1], &value)) return value;
  }
  return 0;
}

// The number a one-value file such as cpuacct.usage holds; -1 if none.
int64_t ReadNumber(const fs::path& path) {
  std::optional<std::string> text = ReadFile(path.string());
  int64_t value;
  if (!text || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) return -1;
  return value;
}

std::vector<pid_t> ReadPids(const fs::path& procs) {
  std::vector<pid_t> pids;
  std::optional<std::string> text = ReadFile(procs.string());
  if (!text) return pids;
  for (absl::string_view word : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    int pid;
    if (absl::SimpleAtoi(word, &pid) && pid > 0) pids.push_back(pid);
  }
  return pids;
}

absl::Status MakeDirectory(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the cgroup ", dir.string(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// SIGKILLs what is in `dirs` until they are empty, then removes them (the
// kernel refuses to remove a cgroup while a task is in it). With
// `kill_file`, cgroup v2's cgroup.kill does the killing without racing
// forks; otherwise each listed process is killed, until none is left.
absl::Status KillAndRemove(const std::vector<fs::path>& dirs, bool kill_file) {
  absl::Time deadline = absl::Now() + kDestroyPatience;
  while (true) {
    bool populated = false;
    for (const fs::path& dir : dirs) {
      if (kill_file) (void)WriteFile(dir / "cgroup.kill", "1");
      for (pid_t pid : ReadPids(dir / "cgroup.procs")) {
        ::kill(pid, SIGKILL);
        populated = true;
      }
    }
    bool removed = !populated;
    for (const fs::path& dir : dirs) {
      if (!populated && ::rmdir(dir.c_str()) != 0 && errno != ENOENT) removed = false;
    }
    if (removed) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::UnavailableError(
          absl::StrCat("the cgroup ", dirs.front().string(), " is still busy"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

std::vector<std::string> ChildDirectories(const fs::path& parent) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    if (entry.is_directory(ec)) names.push_back(entry.path().filename().string());
  }
  return names;
}

std::set<std::string> Words(const std::optional<std::string>& text) {
  if (!text) return {};
  std::vector<std::string> words = absl::StrSplit(*text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  return std::set<std::string>(words.begin(), words.end());
}

int64_t CpuQuotaMicros(double cpus) {
  return std::max<int64_t>(1000, std::llround(cpus * kCpuPeriodMicros));
}

class CgroupsV2 final : public Cgroups {
 public:
  CgroupsV2(fs::path parent, bool cpu) : parent_(std::move(parent)), cpu_(cpu) {}

  CgroupVersion version() const override { return CgroupVersion::kV2; }

  absl::Status Create(const std::string& name, const CgroupLimits& limits) override {
    if (absl::Status emptied = Destroy(name); !emptied.ok()) return emptied;
    fs::path dir = parent_ / name;
    if (absl::Status made = MakeDirectory(dir); !made.ok()) return made;
    absl::Status set = Write(dir / "memory.max", absl::StrCat(limits.memory_bytes));
    if (set.ok()) set = WriteIfPresent(dir / "memory.swap.max", "0");
    if (set.ok()) set = WriteIfPresent(dir / "memory.oom.group", "1");
    if (set.ok()) set = Write(dir / "pids.max", absl::StrCat(limits.tasks));
    if (set.ok() && cpu_ && limits.cpus > 0) {
      set =
          Write(dir / "cpu.max", absl::StrCat(CpuQuotaMicros(limits.cpus), " ", kCpuPeriodMicros));
    }
    if (!set.ok()) ::rmdir(dir.c_str());
    return set;
  }

  absl::Status Enter(const std::string& name, pid_t pid) override {
    return Write(parent_ / name / "cgroup.procs", absl::StrCat(pid));
  }

  int64_t OomKills(const std::string& name) const override {
    return ReadCounter(parent_ / name / "memory.events", "oom_kill");
  }

  absl::Status Destroy(const std::string& name) override {
    return KillAndRemove({parent_ / name}, /*kill_file=*/true);
  }

  CgroupUsage Usage(const std::string& name) const override {
    CgroupUsage usage;
    fs::path dir = parent_ / name;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return usage;
    // usage_usec is in every cgroup's cpu.stat, with or without the cpu
    // controller.
    if (fs::exists(dir / "cpu.stat", ec)) usage.cpu_micros = ReadCounter(dir / "cpu.stat", "usage_usec");
    usage.peak_memory_bytes = ReadNumber(dir / "memory.peak");
    return usage;
  }

  std::vector<std::string> Children() const override { return ChildDirectories(parent_); }

  std::vector<fs::path> Directories(const std::string& name) const override {
    return {parent_ / name};
  }
  fs::path MemoryLimitFile(const std::string& name) const override {
    return parent_ / name / "memory.max";
  }
  fs::path TasksLimitFile(const std::string& name) const override {
    return parent_ / name / "pids.max";
  }

 private:
  const fs::path parent_;
  const bool cpu_;
};

class CgroupsV1 final : public Cgroups {
 public:
  // `cpu` empty: no CPU bandwidth limit; `cpuacct` empty: CPU time not
  // metered.
  CgroupsV1(fs::path memory, fs::path pids, fs::path cpu, fs::path cpuacct)
      : memory_(std::move(memory)),
        pids_(std::move(pids)),
        cpu_(std::move(cpu)),
        cpuacct_(std::move(cpuacct)) {}

  CgroupVersion version() const override { return CgroupVersion::kV1; }

  absl::Status Create(const std::string& name, const CgroupLimits& limits) override {
    if (absl::Status emptied = Destroy(name); !emptied.ok()) return emptied;
    absl::Status set;
    for (const fs::path& dir : Directories(name)) {
      if (set.ok()) set = MakeDirectory(dir);
    }
    std::string bytes = absl::StrCat(limits.memory_bytes);
    if (set.ok()) set = Write(memory_ / name / "memory.limit_in_bytes", bytes);
    // Memory plus swap, where swap is accounted: swap must not extend it.
    if (set.ok()) set = WriteIfPresent(memory_ / name / "memory.memsw.limit_in_bytes", bytes);
    if (set.ok()) set = Write(pids_ / name / "pids.max", absl::StrCat(limits.tasks));
    if (set.ok() && !cpu_.empty() && limits.cpus > 0) {
      set = Write(cpu_ / name / "cpu.cfs_period_us", absl::StrCat(kCpuPeriodMicros));
      if (set.ok()) {
        set = Write(cpu_ / name / "cpu.cfs_quota_us", absl::StrCat(CpuQuotaMicros(limits.cpus)));
      }
    }
    if (!set.ok()) {
      for (const fs::path& dir : Directories(name)) ::rmdir(dir.c_str());
    }
    return set;
  }

  absl::Status Enter(const std::string& name, pid_t pid) override {
    for (const fs::path& dir : Directories(name)) {
      if (absl::Status entered = Write(dir / "cgroup.procs", absl::StrCat(pid)); !entered.ok()) {
        return entered;
      }
    }
    return absl::OkStatus();
  }

  int64_t OomKills(const std::string& name) const override {
    return ReadCounter(memory_ / name / "memory.oom_control", "oom_kill");
  }

  absl::Status Destroy(const std::string& name) override {
    return KillAndRemove(Directories(name), /*kill_file=*/false);
  }

  CgroupUsage Usage(const std::string& name) const override {
    CgroupUsage usage;
    if (!cpuacct_.empty()) {
      int64_t nanos = ReadNumber(cpuacct_ / name / "cpuacct.usage");
      if (nanos >= 0) usage.cpu_micros = nanos / 1000;
    }
    usage.peak_memory_bytes = ReadNumber(memory_ / name / "memory.max_usage_in_bytes");
    return usage;
  }

  std::vector<std::string> Children() const override { return ChildDirectories(memory_); }

  std::vector<fs::path> Directories(const std::string& name) const override {
    std::vector<fs::path> dirs = {memory_ / name, pids_ / name};
    if (!cpu_.empty()) dirs.push_back(cpu_ / name);
    if (!cpuacct_.empty() && cpuacct_ != cpu_) dirs.push_back(cpuacct_ / name);
    return dirs;
  }
  fs::path MemoryLimitFile(const std::string& name) const override {
    return memory_ / name / "memory.limit_in_bytes";
  }
  fs::path TasksLimitFile(const std::string& name) const override {
    return pids_ / name / "pids.max";
  }

 private:
  const fs::path memory_, pids_, cpu_, cpuacct_;
};

// Creates `parent` and its missing ancestors under `mount`.
// FailedPrecondition if the node may not create cgroups in it.
absl::Status MakeParent(const fs::path& mount, const fs::path& parent) {
  fs::path dir = mount;
  for (const fs::path& part : parent) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", dir.string(), ": ", std::strerror(errno)));
    }
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create cgroups in ", dir.string(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Enables `controller` for the children of every cgroup from the mount down
// to `parent`, so that the parent's children (the jobs) have its files.
absl::Status EnableController(const fs::path& mount, const fs::path& parent,
                              const std::string& controller) {
  fs::path dir = mount;
  auto enable = [&](const fs::path& at) -> absl::Status {
    if (Words(ReadFile((at / "cgroup.subtree_control").string())).contains(controller)) {
      return absl::OkStatus();
    }
    if (int error = WriteFile(at / "cgroup.subtree_control", "+" + controller); error != 0) {
      return absl::FailedPreconditionError(absl::StrCat("cannot enable the ", controller,
                                                        " controller in ", at.string(), ": ",
                                                        std::strerror(error)));
    }
    return absl::OkStatus();
  };
  if (absl::Status enabled = enable(dir); !enabled.ok()) return enabled;
  for (const fs::path& part : parent) {
    dir /= part;
    if (absl::Status enabled = enable(dir); !enabled.ok()) return enabled;
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<CgroupLayout> FindCgroupLayout(
    absl::string_view mounts,
    const std::function<std::optional<std::string>(const std::string&)>& read_file) {
  CgroupLayout v1;
  v1.version = CgroupVersion::kV1;
  for (absl::string_view line : absl::StrSplit(mounts, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 4) continue;
    const std::string& mount = fields[1];
    if (fields[2] == "cgroup2") {
      std::set<std::string> controllers = Words(read_file(mount + "/cgroup.controllers"));
      if (controllers.contains("memory") && controllers.contains("pids")) {
        CgroupLayout v2;
        v2.version = CgroupVersion::kV2;
        v2.unified = mount;
        return v2;
      }
    } else if (fields[2] == "cgroup") {
      for (absl::string_view option : absl::StrSplit(fields[3], ',')) {
        if (option == "memory" && v1.memory.empty()) v1.memory = mount;
        if (option == "pids" && v1.pids.empty()) v1.pids = mount;
        if (option == "cpu" && v1.cpu.empty()) v1.cpu = mount;
        if (option == "cpuacct" && v1.cpuacct.empty()) v1.cpuacct = mount;
      }
    }
  }
  if (v1.memory.empty() || v1.pids.empty()) return std::nullopt;
  return v1;
}

absl::StatusOr<std::unique_ptr<Cgroups>> Cgroups::Open(const std::string& parent) {
  std::optional<std::string> mounts = ReadFile("/proc/self/mounts");
  if (!mounts) return absl::FailedPreconditionError("cannot read /proc/self/mounts");
  std::optional<CgroupLayout> layout = FindCgroupLayout(*mounts, ReadFile);
  if (!layout) {
    return absl::FailedPreconditionError(
        "no cgroup hierarchy with the memory and pids controllers is mounted");
  }
  return Open(*layout, parent);
}

absl::StatusOr<std::unique_ptr<Cgroups>> Cgroups::Open(const CgroupLayout& layout,
                                                       const std::string& parent) {
  fs::path relative(parent);
  bool valid = !parent.empty() && relative.is_relative();
  for (const fs::path& part : relative) valid = valid && part != ".." && part != ".";
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("the cgroup parent \"", parent, "\" must be a relative path"));
  }
  if (layout.version == CgroupVersion::kV2) {
    fs::path mount(layout.unified);
    if (absl::Status made = MakeParent(mount, relative); !made.ok()) return made;
    for (const char* controller : {"memory", "pids"}) {
      if (absl::Status on = EnableController(mount, relative, controller); !on.ok()) return on;
    }
    bool cpu = Words(ReadFile((mount / "cgroup.controllers").string())).contains("cpu") &&
               EnableController(mount, relative, "cpu").ok();
    return std::unique_ptr<Cgroups>(new CgroupsV2(mount / relative, cpu));
  }
  for (const std::string& mount : {layout.memory, layout.pids}) {
    if (absl::Status made = MakeParent(mount, relative); !made.ok()) return made;
  }
  fs::path cpu;
  if (!layout.cpu.empty() && MakeParent(layout.cpu, relative).ok()) {
    cpu = fs::path(layout.cpu) / relative;
  }
  fs::path cpuacct;
  if (!layout.cpuacct.empty() && MakeParent(layout.cpuacct, relative).ok()) {
    cpuacct = fs::path(layout.cpuacct) / relative;
  }
  return std::unique_ptr<Cgroups>(new CgroupsV1(fs::path(layout.memory) / relative,
                                                fs::path(layout.pids) / relative, cpu, cpuacct));
}

}  // namespace trenode::adapters
