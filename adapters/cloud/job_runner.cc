#include "adapters/cloud/job_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "adapters/cloud/digest.h"
#include "adapters/cloud/retry.h"
#include "adapters/onprem/cgroups.h"
#include "adapters/onprem/seccomp_filter.h"
#include "node/common/status_macros.h"
#include "trenode/internal/batch_job.pb.h"

namespace trenode::adapters::cloud {
namespace {
namespace fs = std::filesystem;
using trenode::internal::BatchJobManifest;
using trenode::internal::BatchJobResult;
using trenode::internal::PresignedHttp;
using trenode::internal::StagedFile;

HttpRequest RequestFor(const PresignedHttp& presigned, std::string body = "") {
  HttpRequest request;
  request.method = presigned.method();
  request.url = presigned.url();
  for (const auto& [name, value] : presigned.headers()) request.headers.push_back({name, value});
  request.body = std::move(body);
  return request;
}

absl::StatusOr<HttpResponse> SendPresigned(HttpClient& http, const PresignedHttp& presigned,
                                           const std::string& body = "") {
  ASSIGN_OR_RETURN(HttpResponse response,
                   SendWithRetries(http, RetryPolicy{}, [&]() -> absl::StatusOr<HttpRequest> {
                     return RequestFor(presigned, body);
                   }));
  if (response.status / 100 != 2) {
    // Not the body: a store's error names buckets, keys and signatures.
    return absl::UnavailableError(
        absl::StrCat(presigned.method(), " of a staged object: HTTP ", response.status));
  }
  return response;
}

// Streams the staged file to `path` (which must not exist), checking its
// size and SHA-256 as it goes; one attempt.
absl::Status DownloadOnce(HttpClient& http, const StagedFile& file, const fs::path& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<HttpBodyStream> stream, http.Open(RequestFor(file.get())));
  if (stream->status() != 200) {
    return absl::UnavailableError(
        absl::StrCat("GET of ", file.path(), ": HTTP ", stream->status()));
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", path.string()));
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  Sha256Hasher hash;
  int64_t size = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::string chunk, stream->Read(1 << 20));
    if (chunk.empty()) break;
    size += static_cast<int64_t>(chunk.size());
    if (size > file.size()) break;
    hash.Update(chunk);
    for (size_t done = 0; done < chunk.size();) {
      ssize_t n = ::write(fd, chunk.data() + done, chunk.size() - done);
      if (n <= 0) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
      done += static_cast<size_t>(n);
    }
  }
  std::string hex = hash.HexDigest();
  if (size != file.size() || hex != file.sha256()) {
    return absl::DataLossError(absl::StrCat(
        "staged file ", file.path(), " is not what the node staged (", size, " bytes, SHA-256 ",
        hex, "; expected ", file.size(), " bytes, ", file.sha256(), ")"));
  }
  return absl::OkStatus();
}

absl::Status Download(HttpClient& http, const StagedFile& file, const fs::path& path,
                      mode_t mode) {
  absl::Status status;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    status = DownloadOnce(http, file, path);
    if (status.ok() || status.code() != absl::StatusCode::kUnavailable) break;
    absl::SleepFor(RetryDelay(RetryPolicy{}, attempt));
  }
  if (status.ok() && ::chmod(path.c_str(), mode) != 0) {
    status = absl::InternalError(absl::StrCat("cannot chmod ", path.string()));
  }
  return status;
}

absl::Status Stage(HttpClient& http, const BatchJobManifest& manifest,
                   const RunnerOptions& options) {
  const fs::path code = fs::path(options.job_root) / "code";
  const fs::path outbox = fs::path(options.job_root) / "outbox";
  std::error_code ec;
  fs::create_directories(code, ec);
  fs::create_directories(outbox, ec);
  fs::create_directories(options.data_root, ec);
  fs::create_directories(options.log_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create the job's directories: ", ec.message()));
  if (::chown(outbox.c_str(), options.job_uid, options.job_gid) != 0 ||
      ::chmod(outbox.c_str(), 0700) != 0 || ::chmod(options.log_dir.c_str(), 0700) != 0) {
    return absl::InternalError("cannot hand the outbox to the job's user");
  }
  for (const StagedFile& file : manifest.code()) {
    if (!IsPlainRelativePath(file.path())) {
      return absl::InvalidArgumentError(absl::StrCat("bad code path ", file.path()));
    }
    fs::path path = code / file.path();
    fs::create_directories(path.parent_path(), ec);
    RETURN_IF_ERROR(Download(http, file, path, file.executable() ? 0555 : 0444));
  }
  for (const StagedFile& dataset : manifest.datasets()) {
    if (!IsPlainRelativePath(dataset.path()) || absl::StrContains(dataset.path(), "/")) {
      return absl::InvalidArgumentError(absl::StrCat("bad dataset name ", dataset.path()));
    }
    RETURN_IF_ERROR(Download(http, dataset,
                             fs::path(options.data_root) / (dataset.path() + ".sqlite"), 0444));
  }
  for (auto it = fs::recursive_directory_iterator(code, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory()) ::chmod(it->path().c_str(), 0555);
  }
  ::chmod(code.c_str(), 0555);
  return absl::OkStatus();
}

// The processes this runner can see that run as `uid` (by any of their
// uids) and have not yet exited (zombies are done: they can do nothing).
std::vector<pid_t> LiveProcessesOf(uid_t uid) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream status(entry.path() / "status");
    std::string line;
    bool ours = false, exited = false;
    while (std::getline(status, line)) {
      if (absl::StartsWith(line, "State:")) {
        exited = absl::StrContains(line, "Z (zombie)") || absl::StrContains(line, "X (dead)");
      } else if (absl::StartsWith(line, "Uid:")) {
        for (absl::string_view field : absl::StrSplit(line.substr(4), absl::ByAnyChar(" \t"),
                                                      absl::SkipEmpty())) {
          uid_t value = 0;
          if (absl::SimpleAtoi(field, &value) && value == uid) ours = true;
        }
      }
    }
    if (ours && !exited) pids.push_back(pid);
  }
  return pids;
}

// Kills every process of the job's uid, until none is left, and reaps those
// that were reparented to the runner.
void KillJobProcesses(const RunnerOptions& options) {
  for (int round = 0; round < 500; ++round) {
    std::vector<pid_t> live = LiveProcessesOf(options.job_uid);
    if (live.empty()) break;
    for (pid_t pid : live) ::kill(pid, SIGKILL);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// Set by SIGTERM, which a batch service sends the container when it
// terminates the job (AWS Batch: SIGTERM, then SIGKILL 30 s later).
volatile sig_atomic_t terminate_requested = 0;
void OnTerminate(int) { terminate_requested = 1; }

struct Ended {
  int exit_code = -1;
  bool timed_out = false;
  bool terminated = false;
  internal::JobUsage usage;
};

int64_t Micros(const timeval& t) { return int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; }

// A cgroup of the job's own, where the container may make one (its cgroup
// tree mounted writable, as a platform that delegates it does): it counts
// every process of the job and nothing of the runner's. Empty when there is
// none; the job is then metered from the runner's reaped children.
struct JobCgroup {
  std::unique_ptr<adapters::Cgroups> cgroups;
  std::string name;
  bool entered = false;  // the job's first process was put in it
};

JobCgroup MakeJobCgroup(const BatchJobManifest& manifest, const RunnerOptions& options) {
  JobCgroup made;
  if (options.cgroup_parent.empty()) return made;
  absl::StatusOr<std::unique_ptr<adapters::Cgroups>> cgroups =
      adapters::Cgroups::Open(options.cgroup_parent);
  if (!cgroups.ok()) return made;
  // Leftovers of runners killed with their containers, made more than a
  // minute ago (not another runner's, being entered): removing a cgroup
  // that still holds a process (another container's job) fails.
  const time_t stale = ::time(nullptr) - 60;
  for (const std::string& leftover : (*cgroups)->Children()) {
    for (const fs::path& directory : (*cgroups)->Directories(leftover)) {
      struct stat info;
      if (::stat(directory.c_str(), &info) == 0 && info.st_mtime < stale) {
        ::rmdir(directory.c_str());
      }
    }
  }
  // Unique across the containers sharing the tree (their pids are not).
  std::string name = absl::StrCat("job-", std::random_device{}(), "-", std::random_device{}());
  adapters::CgroupLimits limits{.memory_bytes = manifest.limits().memory_bytes(),
                                .tasks = manifest.limits().processes() + 16,
                                .cpus = 0};
  if (!(*cgroups)->Create(name, limits).ok()) return made;
  made.cgroups = *std::move(cgroups);
  made.name = std::move(name);
  return made;
}

// What the job used, read once every process of it has exited and been
// reaped: the job's cgroup if it has one that meters CPU, otherwise the
// children this runner reaped (the job's first process, and as the
// subreaper every orphan of it; each parent's rusage holds the children it
// reaped) since `before`.
internal::JobUsage MeterJob(const JobCgroup& cgroup, const rusage& before,
                            absl::Duration wall) {
  internal::JobUsage usage;
  usage.set_wall_micros(absl::ToInt64Microseconds(wall));
  if (cgroup.entered) {
    adapters::CgroupUsage counted = cgroup.cgroups->Usage(cgroup.name);
    if (counted.cpu_micros >= 0) {
      usage.set_source(internal::JobUsage::CGROUP);
      usage.set_cpu_micros(counted.cpu_micros);
      usage.set_peak_memory_bytes(counted.peak_memory_bytes);
      return usage;
    }
  }
  rusage after{};
  if (::getrusage(RUSAGE_CHILDREN, &after) != 0) {
    usage.set_cpu_micros(-1);
    usage.set_peak_memory_bytes(-1);
    return usage;
  }
  usage.set_source(internal::JobUsage::RUSAGE);
  usage.set_cpu_micros(std::max<int64_t>(0, Micros(after.ru_utime) + Micros(after.ru_stime) -
                                                Micros(before.ru_utime) - Micros(before.ru_stime)));
  usage.set_peak_memory_bytes(int64_t{after.ru_maxrss} * 1024);
  return usage;
}

// Runs the job's command and waits for it, within its wall-clock limit.
absl::StatusOr<Ended> RunCommand(const BatchJobManifest& manifest, const RunnerOptions& options) {
  const auto& limits = manifest.limits();
  fs::path stdout_path = fs::path(options.log_dir) / "stdout";
  fs::path stderr_path = fs::path(options.log_dir) / "stderr";
  int out = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0 || err < 0) return absl::InternalError("cannot create the job's log files");
  std::vector<std::string> argv_storage(manifest.command().begin(), manifest.command().end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::string code_dir = (fs::path(options.job_root) / "code").string();
  std::vector<std::string> env_storage = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp",
                                          "TMPDIR=/tmp", "LANG=C.UTF-8",
                                          absl::StrCat("PWD=", code_dir)};
  std::vector<char*> env;
  for (std::string& entry : env_storage) env.push_back(entry.data());
  env.push_back(nullptr);

  // The same system calls refused as in the on-prem sandbox, and no network
  // (the container shares the platform's): compiled before the fork.
  absl::StatusOr<std::string> filter = CompileJobSeccompFilter(/*deny_network=*/true);
  if (!filter.ok()) return filter.status();
  sock_fprog program{static_cast<unsigned short>(filter->size() / sizeof(sock_filter)),
                     reinterpret_cast<sock_filter*>(filter->data())};

  // Orphans of the job are reparented to the runner (not to the container's
  // init), which reaps them, so that their CPU time is metered.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  JobCgroup cgroup = MakeJobCgroup(manifest, options);
  absl::Cleanup destroy_cgroup = [&cgroup] {
    if (cgroup.cgroups != nullptr) (void)cgroup.cgroups->Destroy(cgroup.name);
  };
  // The child waits for a byte on `go`: it is in its cgroup before it runs.
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return absl::InternalError("cannot make a pipe");
  rusage before{};
  ::getrusage(RUSAGE_CHILDREN, &before);
  const absl::Time started = absl::Now();
  if (terminate_requested) {
    ::close(go[0]);
    ::close(go[1]);
    Ended ended;
    ended.terminated = true;
    ended.usage = MeterJob(cgroup, before, absl::ZeroDuration());
    return ended;
  }
  pid_t child = ::fork();
  if (child < 0) {
    ::close(go[0]);
    ::close(go[1]);
    return absl::InternalError("cannot fork the job");
  }
  if (child == 0) {
    ::setsid();
    char start = 0;
    ssize_t n;
    do {
      n = ::read(go[0], &start, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(125);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // Nothing of the runner's (its connections to the store) crosses exec.
    ::syscall(SYS_close_range, 3, ~0U, 0);
    // The job, not the runner, is what the kernel kills first for memory.
    int adj = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (adj >= 0) {
      (void)!::write(adj, "1000", 4);
      ::close(adj);
    }
    auto limit = [](int resource, int64_t value) {
      rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
      ::setrlimit(resource, &r);
    };
    limit(RLIMIT_CPU, limits.cpu_seconds());
    limit(RLIMIT_AS, limits.memory_bytes());
    limit(RLIMIT_FSIZE, limits.output_bytes());
    limit(RLIMIT_NPROC, limits.processes());
    limit(RLIMIT_CORE, 0);
    if (::setgroups(0, nullptr) != 0 || ::setgid(options.job_gid) != 0 ||
        ::setuid(options.job_uid) != 0 || ::chdir(code_dir.c_str()) != 0) {
      ::_exit(125);
    }
    // No setuid program gives the job back a privilege, and the filter holds
    // for every process it starts.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
      ::_exit(125);
    }
    ::execvpe(argv[0], argv.data(), env.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  ::close(go[0]);
  cgroup.entered = cgroup.cgroups != nullptr && cgroup.cgroups->Enter(cgroup.name, child).ok();
  if (::write(go[1], "g", 1) != 1) {
    ::close(go[1]);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return absl::InternalError("cannot start the job");
  }
  ::close(go[1]);
  const absl::Time deadline = absl::Now() + absl::Seconds(limits.wall_seconds());
  Ended ended;
  int status = 0;
  while (true) {
    pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (terminate_requested) {
      // Stopped by the service: the job's processes go, and what they used
      // is still returned.
      ended.terminated = true;
      ::kill(-child, SIGKILL);
      KillJobProcesses(options);
      ::waitpid(child, &status, 0);
      break;
    }
    if (absl::Now() >= deadline) {
      ended.timed_out = true;
      ::kill(-child, SIGKILL);
      KillJobProcesses(options);
      ::waitpid(child, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  KillJobProcesses(options);
  ended.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Every process of the job is gone: nothing it did can change this.
  ended.usage = MeterJob(cgroup, before, absl::Now() - started);
  return ended;
}

std::string ReadPrefix(const fs::path& path, int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(limit), '\0');
  in.read(text.data(), limit);
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// Up to `limit` bytes of the regular file at `path`, opened without
// following a link or waiting on a FIFO; nullopt if it is not such a file.
std::optional<std::string> ReadRegularFile(const fs::path& path, int64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  std::string content;
  char buffer[1 << 16];
  while (static_cast<int64_t>(content.size()) <= limit) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  return content;
}

// Fills result.outputs from the outbox, or result.outbox_error. Every job
// process is gone by now and the outbox is the runner's again, so nothing
// changes under the walk; each file is still opened as it was checked.
void CollectOutbox(const fs::path& outbox, const internal::JobLimits& limits,
                   BatchJobResult& result) {
  if (::chown(outbox.c_str(), 0, 0) != 0 || ::chmod(outbox.c_str(), 0500) != 0) {
    result.set_outbox_error("cannot take the outbox back from the job");
    return;
  }
  int64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(outbox, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    fs::file_status status = it->symlink_status(ec);
    if (fs::is_directory(status)) continue;
    std::string name = it->path().lexically_relative(outbox).string();
    std::string problem;
    std::optional<std::string> content;
    if (!fs::is_regular_file(status) ||
        !(content = ReadRegularFile(it->path(), limits.output_bytes() - bytes))) {
      problem = absl::StrCat("the outbox holds ", name, ", which is not a regular file");
    } else if (result.outputs_size() >= limits.output_files()) {
      problem = absl::StrCat("the outbox holds more than ", limits.output_files(), " files");
    } else if ((bytes += static_cast<int64_t>(content->size())) > limits.output_bytes()) {
      problem = absl::StrCat("the outbox holds more than the limit of ", limits.output_bytes(),
                             " bytes");
    }
    if (!problem.empty()) {
      result.clear_outputs();
      result.set_outbox_error(problem);
      return;
    }
    internal::OutputFile* file = result.add_outputs();
    file->set_name(name);
    file->set_content(*std::move(content));
  }
  if (ec) {
    result.clear_outputs();
    result.set_outbox_error(absl::StrCat("cannot read the outbox: ", ec.message()));
  }
}

}  // namespace

bool IsPlainRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string::npos) return false;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty() || segment == "." || segment == "..") return false;
  }
  return true;
}

absl::Status RunBatchJob(const std::string& manifest_url, HttpClient& http,
                         const RunnerOptions& options) {
  PresignedHttp manifest_get;
  manifest_get.set_method("GET");
  manifest_get.set_url(manifest_url);
  ASSIGN_OR_RETURN(HttpResponse manifest_response, SendPresigned(http, manifest_get));
  BatchJobManifest manifest;
  if (!manifest.ParseFromString(manifest_response.body) || manifest.command().empty()) {
    return absl::DataLossError("the job manifest is not a BatchJobManifest");
  }
  // From here a SIGTERM no longer ends the runner at once: it stops the
  // job, and the result (with the job's usage) is still delivered.
  struct sigaction on_terminate = {};
  on_terminate.sa_handler = OnTerminate;
  ::sigemptyset(&on_terminate.sa_mask);
  ::sigaction(SIGTERM, &on_terminate, nullptr);
  BatchJobResult result;
  result.set_job_id(manifest.job_id());
  if (absl::Status staged = Stage(http, manifest, options); !staged.ok()) {
    result.set_runner_error(absl::StrCat("staging failed: ", staged.ToString()));
  } else {
    absl::StatusOr<Ended> ended = RunCommand(manifest, options);
    if (!ended.ok()) {
      result.set_runner_error(ended.status().ToString());
    } else {
      result.set_exit_code(ended->exit_code);
      *result.mutable_usage() = ended->usage;
      result.set_timed_out(ended->timed_out);
      result.set_terminated(ended->terminated);
      const int64_t log_bytes = manifest.limits().log_bytes();
      result.set_stdout_text(ReadPrefix(fs::path(options.log_dir) / "stdout", log_bytes));
      result.set_stderr_text(ReadPrefix(fs::path(options.log_dir) / "stderr", log_bytes));
      if (ended->exit_code == 0 && !ended->timed_out && !ended->terminated) {
        CollectOutbox(fs::path(options.job_root) / "outbox", manifest.limits(), result);
      }
    }
  }
  return SendPresigned(http, manifest.put_result(), result.SerializeAsString()).status();
}

}  // namespace trenode::adapters::cloud
