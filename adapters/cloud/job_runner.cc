#include "adapters/cloud/job_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "adapters/cloud/digest.h"
#include "adapters/cloud/retry.h"
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
    return absl::UnavailableError(absl::StrCat(presigned.method(), " of a staged object: HTTP ",
                                               response.status, " ", response.body.substr(0, 200)));
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

// Kills every process the job's uid runs (that this runner can see).
void KillJobProcesses(const RunnerOptions& options) {
  pid_t killer = ::fork();
  if (killer == 0) {
    if (::setgid(options.job_gid) == 0 && ::setuid(options.job_uid) == 0) {
      ::kill(-1, SIGKILL);
    }
    ::_exit(0);
  }
  if (killer > 0) ::waitpid(killer, nullptr, 0);
}

struct Ended {
  int exit_code = -1;
  bool timed_out = false;
};

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

  pid_t child = ::fork();
  if (child < 0) return absl::InternalError("cannot fork the job");
  if (child == 0) {
    ::setsid();
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
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
    ::execvpe(argv[0], argv.data(), env.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  const absl::Time deadline = absl::Now() + absl::Seconds(limits.wall_seconds());
  Ended ended;
  int status = 0;
  while (true) {
    pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) break;
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
  return ended;
}

std::string ReadPrefix(const fs::path& path, int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(limit), '\0');
  in.read(text.data(), limit);
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// Fills result.outputs from the outbox, or result.outbox_error.
void CollectOutbox(const fs::path& outbox, const internal::JobLimits& limits,
                   BatchJobResult& result) {
  int64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(outbox, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    fs::file_status status = it->symlink_status(ec);
    if (fs::is_directory(status)) continue;
    std::string name = it->path().lexically_relative(outbox).string();
    std::string problem;
    if (!fs::is_regular_file(status)) {
      problem = absl::StrCat("the outbox holds ", name, ", which is not a regular file");
    } else if (result.outputs_size() >= limits.output_files()) {
      problem = absl::StrCat("the outbox holds more than ", limits.output_files(), " files");
    } else if ((bytes += static_cast<int64_t>(it->file_size(ec))) > limits.output_bytes()) {
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
    file->set_content(ReadPrefix(it->path(), limits.output_bytes()));
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
      result.set_timed_out(ended->timed_out);
      const int64_t log_bytes = manifest.limits().log_bytes();
      result.set_stdout_text(ReadPrefix(fs::path(options.log_dir) / "stdout", log_bytes));
      result.set_stderr_text(ReadPrefix(fs::path(options.log_dir) / "stderr", log_bytes));
      if (ended->exit_code == 0 && !ended->timed_out) {
        CollectOutbox(fs::path(options.job_root) / "outbox", manifest.limits(), result);
      }
    }
  }
  return SendPresigned(http, manifest.put_result(), result.SerializeAsString()).status();
}

}  // namespace trenode::adapters::cloud
