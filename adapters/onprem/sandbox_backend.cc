#include "adapters/onprem/sandbox_backend.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/onprem/job_directory.h"
#include "adapters/onprem/seccomp_filter.h"

namespace trenode::adapters {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kDefaultLogBytes = 64 << 10;
// bubblewrap's own processes in a job's cgroup: bwrap, and bwrap as the init
// of the job's pid namespace.
constexpr int64_t kSandboxTasks = 2;
// Where the machine's OOM killer ranks a job's processes (-1000..1000): before
// the node, should memory run out outside any cgroup.
constexpr char kJobOomScoreAdj[] = "500";

void SayJobsAreNotInCgroups(const absl::Status& why) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::cerr << "trenode: sandbox jobs are not in cgroups (" << why.message()
              << "): memory is limited per process, not per job\n";
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<SandboxBackend>> SandboxBackend::Create(SandboxOptions options) {
  if (::geteuid() != 0) {
    return absl::FailedPreconditionError(
        "the sandbox backend needs the node to run as root (to mount and drop to job uids)");
  }
  for (const std::string& tool :
       {options.tools.bwrap, options.tools.setpriv, options.tools.prlimit}) {
    if (::access(tool.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(tool, " is missing: install bubblewrap and util-linux"));
    }
  }
  if (options.max_jobs <= 0) return absl::InvalidArgumentError("max_jobs must be positive");
  std::error_code ec;
  fs::create_directories(options.work_root, ec);
  if (ec || ::chmod(options.work_root.c_str(), 0700) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the sandbox work directory ", options.work_root));
  }
  absl::StatusOr<std::string> seccomp = CompileJobSeccompFilter();
  if (!seccomp.ok()) return seccomp.status();
  std::unique_ptr<SandboxBackend> backend(new SandboxBackend(std::move(options)));
  backend->slots_in_use_.assign(backend->options_.max_jobs, false);
  backend->seccomp_program_ = *std::move(seccomp);
  absl::StatusOr<std::unique_ptr<Cgroups>> cgroups =
      Cgroups::Open(backend->options_.cgroup_parent);
  if (cgroups.status().code() == absl::StatusCode::kInvalidArgument) return cgroups.status();
  if (!cgroups.ok()) {
    SayJobsAreNotInCgroups(cgroups.status());
    return backend;
  }
  backend->cgroups_ = *std::move(cgroups);
  // Cgroups of this backend's uids left by a node that was killed: their
  // jobs died with it.
  const SandboxOptions& o = backend->options_;
  for (const std::string& name : backend->cgroups_->Children()) {
    for (int slot = 0; slot < o.max_jobs; ++slot) {
      if (absl::EndsWith(name, absl::StrCat("@", o.first_uid + static_cast<uid_t>(slot)))) {
        (void)backend->cgroups_->Destroy(name);
      }
    }
  }
  return backend;
}

SandboxBackend::~SandboxBackend() {
  std::vector<Job*> live;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [id, job] : jobs_) {
      if (!job->finished && job->pid > 0) ::kill(-job->pid, SIGKILL);
      live.push_back(job.get());
    }
  }
  for (Job* job : live) {
    if (job->monitor.joinable()) job->monitor.join();
  }
}

absl::Status SandboxBackend::Submit(const JobSpec& spec) {
  if (absl::Status valid = ValidateJobSpec(spec); !valid.ok()) return valid;
  for (const std::string& path : {spec.code_dir}) {
    if (!fs::is_directory(path)) {
      return absl::InvalidArgumentError(absl::StrCat("no code directory ", path));
    }
  }
  for (const DatasetMount& dataset : spec.datasets) {
    if (!fs::is_regular_file(dataset.path)) {
      return absl::InvalidArgumentError(absl::StrCat("no dataset file ", dataset.path));
    }
  }
  absl::MutexLock lock(&mu_);
  JobDirectory dir(options_.work_root, spec.job_id);
  if (jobs_.contains(spec.job_id) || dir.Exists()) return absl::OkStatus();
  int slot = -1;
  for (int i = 0; i < options_.max_jobs && slot < 0; ++i) {
    if (!slots_in_use_[i]) slot = i;
  }
  if (slot < 0) {
    return absl::UnavailableError(
        absl::StrCat("all ", options_.max_jobs, " sandbox slots are busy; try again later"));
  }
  uid_t uid = options_.first_uid + static_cast<uid_t>(slot);
  if (absl::Status created = dir.Create(uid); !created.ok()) return created;
  std::string cgroup;
  std::vector<int> fds;
  auto abandon = [&](absl::Status status) {
    for (int fd : fds) ::close(fd);
    if (!cgroup.empty()) (void)cgroups_->Destroy(cgroup);
    std::error_code ec;
    fs::remove_all(dir.path(), ec);
    return status;
  };
  if (cgroups_ != nullptr) {
    cgroup = absl::StrCat(spec.job_id, "@", uid);
    CgroupLimits limits{.memory_bytes = spec.limits.memory_bytes,
                        .tasks = spec.limits.processes + kSandboxTasks,
                        .cpus = options_.cpus_per_job};
    if (absl::Status made = cgroups_->Create(cgroup, limits); !made.ok()) {
      cgroup.clear();
      return abandon(made);
    }
  }
  absl::StatusOr<int> seccomp = SeccompProgramFd(seccomp_program_);
  if (!seccomp.ok()) return abandon(seccomp.status());
  fds.push_back(*seccomp);
  int out = ::open(dir.stdout_path().c_str(), O_WRONLY | O_CLOEXEC);
  int err = ::open(dir.stderr_path().c_str(), O_WRONLY | O_CLOEXEC);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (int fd : {out, err, null}) {
    if (fd >= 0) fds.push_back(fd);
  }
  if (out < 0 || err < 0 || null < 0) {
    return abandon(absl::UnavailableError("cannot open the job's log files"));
  }
  absl::StatusOr<pid_t> pid =
      Start(LimitedSandboxArgv(options_.tools, spec, dir.outbox().string(), uid, *seccomp), null,
            out, err, *seccomp, cgroup);
  if (!pid.ok()) return abandon(pid.status());
  for (int fd : fds) ::close(fd);
  slots_in_use_[slot] = true;
  auto job = std::make_unique<Job>();
  job->spec = spec;
  job->pid = *pid;
  job->slot = slot;
  job->cgroup = cgroup;
  Job* raw_job = job.get();
  jobs_[spec.job_id] = std::move(job);
  raw_job->monitor = std::thread([this, raw_job] { Monitor(raw_job); });
  return absl::OkStatus();
}

absl::StatusOr<pid_t> SandboxBackend::Start(std::vector<std::string> argv, int in, int out,
                                             int err, int seccomp_fd, const std::string& cgroup) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls. The child waits for a byte on `go` before it
  // runs anything, so that it is in its cgroup first.
  std::vector<char*> raw;
  for (std::string& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return absl::UnavailableError("cannot start the sandbox");
  rlimit files{};
  const int highest_fd =
      ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
          ? static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20)) - 1
          : 65535;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(go[1]);
    ::setsid();
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // Nothing the node holds reaches the job: descriptors opened without
    // close-on-exec (an HTTP library's accepted connections, say) would
    // pass through bwrap, and a job could write to them whatever its
    // seccomp filter, which refuses only new sockets.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd <= highest_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::fcntl(seccomp_fd, F_SETFD, 0);  // bwrap reads it
    char start = 0;
    ssize_t n;
    do {
      n = ::read(go[0], &start, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) ::execv(raw[0], raw.data());
    ::_exit(127);
  }
  ::close(go[0]);
  if (pid < 0) {
    ::close(go[1]);
    return absl::UnavailableError("cannot start the sandbox (fork failed)");
  }
  absl::Status entered = cgroup.empty() ? absl::OkStatus() : cgroups_->Enter(cgroup, pid);
  if (entered.ok()) {
    int fd = ::open(absl::StrCat("/proc/", pid, "/oom_score_adj").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)::write(fd, kJobOomScoreAdj, sizeof(kJobOomScoreAdj) - 1);
      ::close(fd);
    }
    if (::write(go[1], "g", 1) != 1) entered = absl::UnavailableError("cannot start the sandbox");
  }
  ::close(go[1]);  // without the byte, the child exits
  if (!entered.ok()) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return entered;
  }
  return pid;
}

void SandboxBackend::Monitor(Job* job) {
  const ComputeLimits& limits = job->spec.limits;
  const absl::Time started = absl::Now();
  absl::Time deadline = started + limits.wall;
  rusage resources{};
  bool timed_out = false;
  bool out_of_memory = false;
  int status = 0;
  while (true) {
    pid_t done = ::wait4(job->pid, &status, WNOHANG, &resources);
    if (done == job->pid || (done < 0 && errno != EINTR)) break;
    bool kill_now = false;
    {
      absl::MutexLock lock(&mu_);
      kill_now = job->cancel_requested || stopping_;
    }
    if (!timed_out && absl::Now() > deadline) timed_out = kill_now = true;
    // On cgroup v1 the OOM killer ends one process; the job ends with it.
    if (!out_of_memory && !job->cgroup.empty() && cgroups_->OomKills(job->cgroup) > 0) {
      out_of_memory = kill_now = true;
    }
    if (kill_now) ::kill(-job->pid, SIGKILL);
    absl::SleepFor(absl::Milliseconds(20));
  }
  JobEnd end;
  end.usage = MeteredUsage(job->cgroup, resources, absl::Now() - started);
  if (!job->cgroup.empty()) {
    out_of_memory = out_of_memory || cgroups_->OomKills(job->cgroup) > 0;
    if (absl::Status removed = cgroups_->Destroy(job->cgroup); !removed.ok()) {
      std::cerr << "trenode: job " << job->spec.job_id << ": " << removed.message() << "\n";
    }
  }
  end.timed_out = timed_out;
  end.out_of_memory = out_of_memory;
  if (WIFEXITED(status)) {
    end.exit_code = WEXITSTATUS(status);
  } else {
    end.signal = WTERMSIG(status);
  }
  bool node_stopping;
  {
    absl::MutexLock lock(&mu_);
    end.cancelled = job->cancel_requested;
    node_stopping = stopping_;
  }
  JobDirectory dir(options_.work_root, job->spec.job_id);
  if (node_stopping) {
    // As after a crash: no result, so Status() reports the node stopped;
    // what it used is kept, to be charged after the restart.
    dir.ClearOutbox();
    dir.KeepUsage(end.usage);
  } else {
    dir.Settle(end, limits);
  }
  absl::MutexLock lock(&mu_);
  job->finished = true;
  slots_in_use_[job->slot] = false;
}

JobUsage SandboxBackend::MeteredUsage(const std::string& cgroup, const rusage& resources,
                                      absl::Duration wall) const {
  JobUsage usage;
  usage.wall_micros = absl::ToInt64Microseconds(wall);
  CgroupUsage counted;
  if (!cgroup.empty()) counted = cgroups_->Usage(cgroup);
  if (counted.cpu_micros >= 0) {
    usage.cpu_micros = counted.cpu_micros;
    usage.peak_memory_bytes = std::max<int64_t>(0, counted.peak_memory_bytes);
    usage.metered_by = cgroups_->version() == CgroupVersion::kV2 ? "cgroup-v2" : "cgroup-v1";
    return usage;
  }
  // No cgroup: bubblewrap, the init of the job's pid namespace, reaps every
  // process of the job, so its children's times are in its own rusage;
  // ru_maxrss is only the largest single process.
  auto micros = [](const timeval& t) { return int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
  usage.cpu_micros = micros(resources.ru_utime) + micros(resources.ru_stime);
  usage.peak_memory_bytes = int64_t{resources.ru_maxrss} * 1024;
  usage.metered_by = "rusage";
  return usage;
}

absl::StatusOr<JobStatus> SandboxBackend::Status(const std::string& job_id) {
  {
    absl::MutexLock lock(&mu_);
    auto found = jobs_.find(job_id);
    if (found != jobs_.end() && !found->second->finished) {
      JobStatus running;
      running.state = JobState::kRunning;
      return running;
    }
  }
  JobDirectory dir(options_.work_root, job_id);
  if (!dir.Exists()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  if (std::optional<JobStatus> result = dir.Result(kDefaultLogBytes)) return *result;
  // No result and not running here: the node stopped while it ran (the
  // sandbox died with it).
  dir.ClearOutbox();
  JobStatus lost;
  lost.state = JobState::kFailed;
  lost.reason = "the node stopped while the job ran; it was not run again";
  lost.failure = JobFailure::kLost;
  lost.outbox_dir = dir.outbox().string();
  lost.usage = dir.Usage();
  return lost;
}

std::string SandboxBackend::JobCgroup(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  if (found == jobs_.end() || found->second->finished) return "";
  return found->second->cgroup;
}

absl::Status SandboxBackend::Cancel(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  if (found == jobs_.end()) {
    if (JobDirectory(options_.work_root, job_id).Exists()) return absl::OkStatus();
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  Job& job = *found->second;
  if (!job.finished) {
    job.cancel_requested = true;
    ::kill(-job.pid, SIGKILL);
  }
  return absl::OkStatus();
}

absl::Status SandboxBackend::Remove(const std::string& job_id) {
  std::unique_ptr<Job> job;
  {
    absl::MutexLock lock(&mu_);
    auto found = jobs_.find(job_id);
    if (found != jobs_.end()) {
      if (!found->second->finished) {
        return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " is still running"));
      }
      job = std::move(found->second);
      jobs_.erase(found);
    }
  }
  if (job && job->monitor.joinable()) job->monitor.join();
  JobDirectory dir(options_.work_root, job_id);
  if (!dir.Exists()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  std::error_code ec;
  fs::remove_all(dir.path(), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot remove job ", job_id));
  return absl::OkStatus();
}

}  // namespace trenode::adapters
