#include "adapters/onprem/sandbox_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace trenode::adapters {
namespace fs = std::filesystem;
namespace {

constexpr char kResultFile[] = "result";
constexpr char kOutbox[] = "outbox";
constexpr int64_t kDefaultLogBytes = 64 << 10;

std::string ReadPrefix(const fs::path& path, int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(limit), '\0');
  in.read(text.data(), limit);
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// "state\nexit code\nreason" written atomically.
absl::Status WriteResult(const fs::path& dir, JobState state, int exit_code,
                         const std::string& reason) {
  fs::path temporary = dir / "result.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << JobStateName(state) << "\n" << exit_code << "\n" << reason;
    out.flush();
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", temporary.string()));
  }
  std::error_code ec;
  fs::rename(temporary, dir / kResultFile, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot write the result: ", ec.message()));
  return absl::OkStatus();
}

void ClearDirectory(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
}

// OK if the outbox holds only regular files and directories within limits.
absl::Status CheckOutbox(const fs::path& outbox, const ComputeLimits& limits) {
  int64_t bytes = 0, files = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(outbox, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    fs::file_status status = it->symlink_status(ec);
    if (fs::is_directory(status)) continue;
    std::string name = it->path().lexically_relative(outbox).string();
    if (!fs::is_regular_file(status)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the outbox holds ", name, ", which is not a regular file"));
    }
    bytes += static_cast<int64_t>(it->file_size(ec));
    if (++files > limits.output_files) {
      return absl::FailedPreconditionError(
          absl::StrCat("the outbox holds more than ", limits.output_files, " files"));
    }
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot read the outbox: ", ec.message()));
  if (bytes > limits.output_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the outbox holds ", bytes, " bytes, more than the limit of ", limits.output_bytes));
  }
  return absl::OkStatus();
}

void SetLimit(int resource, rlim_t value) {
  struct rlimit limit = {value, value};
  ::setrlimit(resource, &limit);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SandboxBackend>> SandboxBackend::Create(SandboxOptions options) {
  if (::geteuid() != 0) {
    return absl::FailedPreconditionError(
        "the sandbox backend needs the node to run as root (to mount and drop to job uids)");
  }
  for (const std::string& tool : {options.bwrap, options.setpriv}) {
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
  std::unique_ptr<SandboxBackend> backend(new SandboxBackend(std::move(options)));
  backend->slots_in_use_.assign(backend->options_.max_jobs, false);
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

std::string SandboxBackend::JobDir(const std::string& job_id) const {
  return (fs::path(options_.work_root) / job_id).string();
}

std::vector<std::string> SandboxBackend::SandboxArgv(const JobSpec& spec, uid_t uid) const {
  std::vector<std::string> argv = {options_.bwrap,
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
                                   (fs::path(JobDir(spec.job_id)) / kOutbox).string(),
                                   "/job/outbox"};
  for (const DatasetMount& dataset : spec.datasets) {
    argv.insert(argv.end(),
                {"--ro-bind", dataset.path, absl::StrCat("/data/", dataset.name, ".sqlite")});
  }
  std::string id = absl::StrCat(uid);
  argv.insert(argv.end(), {"--chdir", "/job/code", "--", options_.setpriv, "--reuid", id, "--regid",
                           id, "--clear-groups", "--no-new-privs", "--bounding-set", "-all",
                           "--inh-caps", "-all", "--"});
  argv.insert(argv.end(), spec.command.begin(), spec.command.end());
  return argv;
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
  fs::path dir = JobDir(spec.job_id);
  std::error_code ec;
  if (jobs_.contains(spec.job_id) || fs::exists(dir, ec)) return absl::OkStatus();
  int slot = -1;
  for (int i = 0; i < options_.max_jobs && slot < 0; ++i) {
    if (!slots_in_use_[i]) slot = i;
  }
  if (slot < 0) {
    return absl::UnavailableError(
        absl::StrCat("all ", options_.max_jobs, " sandbox slots are busy; try again later"));
  }
  uid_t uid = options_.first_uid + static_cast<uid_t>(slot);
  fs::path outbox = dir / kOutbox;
  fs::create_directories(outbox, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0 || ::chown(outbox.c_str(), uid, uid) != 0 ||
      ::chmod(outbox.c_str(), 0700) != 0) {
    fs::remove_all(dir, ec);
    return absl::UnavailableError(absl::StrCat("cannot prepare the job directory ", dir.string()));
  }
  int out = ::open((dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err = ::open((dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || err < 0 || null < 0) {
    for (int fd : {out, err, null}) {
      if (fd >= 0) ::close(fd);
    }
    fs::remove_all(dir, ec);
    return absl::UnavailableError("cannot open the job's log files");
  }

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> argv = SandboxArgv(spec, uid);
  std::vector<char*> raw;
  for (std::string& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  const ComputeLimits& limits = spec.limits;
  rlim_t cpu = static_cast<rlim_t>(absl::ToInt64Seconds(limits.cpu) + 1);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    struct rlimit cpu_limit = {cpu, cpu + 1};  // SIGXCPU, then SIGKILL
    ::setrlimit(RLIMIT_CPU, &cpu_limit);
    SetLimit(RLIMIT_AS, static_cast<rlim_t>(limits.memory_bytes));
    SetLimit(RLIMIT_FSIZE, static_cast<rlim_t>(limits.output_bytes));
    SetLimit(RLIMIT_NPROC, static_cast<rlim_t>(limits.processes));
    SetLimit(RLIMIT_CORE, 0);
    SetLimit(RLIMIT_NOFILE, 1024);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(raw[0], raw.data());
    ::_exit(127);
  }
  for (int fd : {out, err, null}) ::close(fd);
  if (pid < 0) {
    fs::remove_all(dir, ec);
    return absl::UnavailableError("cannot start the sandbox (fork failed)");
  }
  slots_in_use_[slot] = true;
  auto job = std::make_unique<Job>();
  job->spec = spec;
  job->pid = pid;
  job->slot = slot;
  Job* raw_job = job.get();
  jobs_[spec.job_id] = std::move(job);
  raw_job->monitor = std::thread([this, raw_job] { Monitor(raw_job); });
  return absl::OkStatus();
}

void SandboxBackend::Monitor(Job* job) {
  const ComputeLimits& limits = job->spec.limits;
  absl::Time deadline = absl::Now() + limits.wall;
  bool timed_out = false;
  int status = 0;
  while (true) {
    pid_t done = ::waitpid(job->pid, &status, WNOHANG);
    if (done == job->pid || (done < 0 && errno != EINTR)) break;
    bool kill_now = false;
    {
      absl::MutexLock lock(&mu_);
      kill_now = job->cancel_requested || stopping_;
    }
    if (!timed_out && absl::Now() > deadline) timed_out = kill_now = true;
    if (kill_now) ::kill(-job->pid, SIGKILL);
    absl::SleepFor(absl::Milliseconds(20));
  }
  fs::path dir = JobDir(job->spec.job_id);
  fs::path outbox = dir / kOutbox;
  JobState state = JobState::kFailed;
  int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::string reason;
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = job->cancel_requested;
  }
  // bwrap reports a job killed by a signal as 128 + the signal.
  if (cancelled) {
    state = JobState::kCancelled;
    reason = "cancelled";
  } else if (timed_out) {
    reason = absl::StrCat("wall-clock limit of ", absl::FormatDuration(limits.wall), " exceeded");
  } else if (!WIFEXITED(status)) {
    reason = absl::StrCat("the sandbox was killed by signal ", WTERMSIG(status));
  } else if (exit_code == 128 + SIGXCPU || exit_code == 128 + SIGKILL) {
    reason = exit_code == 128 + SIGXCPU
                 ? absl::StrCat("CPU-time limit of ", absl::FormatDuration(limits.cpu), " exceeded")
                 : "killed (CPU-time or memory limit)";
  } else if (exit_code == 128 + SIGXFSZ) {
    reason = absl::StrCat("a file exceeded the output limit of ", limits.output_bytes, " bytes");
  } else if (exit_code != 0) {
    reason = absl::StrCat("exited with status ", exit_code);
  } else if (absl::Status outbox_ok = CheckOutbox(outbox, limits); !outbox_ok.ok()) {
    reason = std::string(outbox_ok.message());
  } else {
    state = JobState::kSucceeded;
  }
  if (state != JobState::kSucceeded) ClearDirectory(outbox);
  (void)WriteResult(dir, state, exit_code, reason);
  absl::MutexLock lock(&mu_);
  job->finished = true;
  slots_in_use_[job->slot] = false;
}

absl::StatusOr<JobStatus> SandboxBackend::ReadResult(const std::string& job_id) const {
  fs::path dir = JobDir(job_id);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  JobStatus status;
  status.stdout_text = ReadPrefix(dir / "stdout", kDefaultLogBytes);
  status.stderr_text = ReadPrefix(dir / "stderr", kDefaultLogBytes);
  status.outbox_dir = (dir / kOutbox).string();
  std::ifstream in(dir / kResultFile);
  std::string state, code;
  if (!std::getline(in, state) || !std::getline(in, code)) {
    status.state = JobState::kFailed;
    status.reason = "the node stopped while the job ran; it was not run again";
    ClearDirectory(dir / kOutbox);
    return status;
  }
  std::stringstream rest;
  rest << in.rdbuf();
  status.reason = rest.str();
  (void)absl::SimpleAtoi(code, &status.exit_code);
  status.state = state == "succeeded"   ? JobState::kSucceeded
                 : state == "cancelled" ? JobState::kCancelled
                                        : JobState::kFailed;
  return status;
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
  return ReadResult(job_id);
}

absl::Status SandboxBackend::Cancel(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  if (found == jobs_.end()) {
    std::error_code ec;
    if (fs::exists(JobDir(job_id), ec)) return absl::OkStatus();  // ended before a restart
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
  std::error_code ec;
  if (!fs::exists(JobDir(job_id), ec)) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  fs::remove_all(JobDir(job_id), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot remove job ", job_id));
  return absl::OkStatus();
}

}  // namespace trenode::adapters
