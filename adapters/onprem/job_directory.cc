#include "adapters/onprem/job_directory.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace trenode::adapters {
namespace fs = std::filesystem;
namespace {

std::string ReadPrefix(const fs::path& path, int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(limit), '\0');
  in.read(text.data(), limit);
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// OK if the outbox holds only regular files (and directories) within limits.
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

// "cpu_micros wall_micros peak_memory_bytes metered_by".
void WriteUsage(const fs::path& path, const JobUsage& usage) {
  std::ofstream out(path, std::ios::trunc);
  out << usage.cpu_micros << " " << usage.wall_micros << " " << usage.peak_memory_bytes << " "
      << usage.metered_by << "\n";
}

JobUsage ReadUsage(const fs::path& path) {
  JobUsage usage;
  std::ifstream in(path);
  JobUsage read;
  if (in >> read.cpu_micros >> read.wall_micros >> read.peak_memory_bytes >> read.metered_by) {
    usage = read;
  }
  return usage;
}

}  // namespace

bool JobDirectory::Exists() const {
  std::error_code ec;
  return fs::exists(path_, ec);
}

absl::Status JobDirectory::Create(uid_t uid) {
  std::error_code ec;
  fs::create_directories(outbox(), ec);
  bool ok = !ec && ::chmod(path_.c_str(), 0700) == 0 && ::chown(outbox().c_str(), uid, uid) == 0 &&
            ::chmod(outbox().c_str(), 0700) == 0;
  for (const fs::path& log : {stdout_path(), stderr_path()}) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ok = ok && fd >= 0;
    if (fd >= 0) ::close(fd);
  }
  if (!ok) {
    fs::remove_all(path_, ec);
    return absl::UnavailableError(
        absl::StrCat("cannot prepare the job directory ", path_.string()));
  }
  return absl::OkStatus();
}

void JobDirectory::ClearOutbox() const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(outbox(), ec)) fs::remove_all(entry.path(), ec);
}

JobStatus JobDirectory::Settle(const JobEnd& end, const ComputeLimits& limits) {
  JobStatus status;
  status.state = JobState::kFailed;
  status.exit_code = end.exit_code;
  const int code = end.exit_code;
  if (end.cancelled) {
    status.state = JobState::kCancelled;
    status.reason = "cancelled";
  } else if (end.verdict != JobFailure::kNone) {
    status.failure = end.verdict;
    status.reason = end.verdict_reason;
  } else if (end.timed_out) {
    status.failure = JobFailure::kWallLimit;
    status.reason =
        absl::StrCat("wall-clock limit of ", absl::FormatDuration(limits.wall), " exceeded");
  } else if (end.out_of_memory) {
    status.failure = JobFailure::kKilled;
    status.reason =
        absl::StrCat("killed: over the memory limit of ", limits.memory_bytes, " bytes");
  } else if (end.signal != 0) {
    status.failure = JobFailure::kKilled;
    status.reason = absl::StrCat("the sandbox was killed by signal ", end.signal);
  } else if (code == 128 + SIGXCPU) {
    status.failure = JobFailure::kCpuLimit;
    status.reason =
        absl::StrCat("CPU-time limit of ", absl::FormatDuration(limits.cpu), " exceeded");
  } else if (code == 128 + SIGKILL) {
    status.failure = JobFailure::kKilled;
    status.reason = "killed (CPU-time or memory limit)";
  } else if (code == 128 + SIGXFSZ) {
    status.failure = JobFailure::kOutputLimit;
    status.reason =
        absl::StrCat("a file exceeded the output limit of ", limits.output_bytes, " bytes");
  } else if (code != 0) {
    status.failure = JobFailure::kExited;
    status.reason = absl::StrCat("exited with status ", code);
  } else if (absl::Status outbox_ok = CheckOutbox(outbox(), limits); !outbox_ok.ok()) {
    status.failure = JobFailure::kOutputLimit;
    status.reason = std::string(outbox_ok.message());
  } else {
    status.state = JobState::kSucceeded;
  }
  if (status.state != JobState::kSucceeded) ClearOutbox();
  status.usage = end.usage;
  WriteUsage(path_ / "usage", end.usage);
  fs::path temporary = path_ / "result.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << JobStateName(status.state) << "\n"
        << status.exit_code << "\n"
        << JobFailureName(status.failure) << "\n"
        << status.reason;
  }
  std::error_code ec;
  fs::rename(temporary, path_ / "result", ec);
  status.stdout_text = ReadPrefix(stdout_path(), limits.log_bytes);
  status.stderr_text = ReadPrefix(stderr_path(), limits.log_bytes);
  status.outbox_dir = outbox().string();
  return status;
}

std::optional<JobStatus> JobDirectory::Result(int64_t log_bytes) const {
  std::ifstream in(path_ / "result");
  std::string state, code, failure;
  if (!std::getline(in, state) || !std::getline(in, code) || !std::getline(in, failure)) {
    return std::nullopt;
  }
  JobStatus status;
  std::stringstream rest;
  rest << in.rdbuf();
  status.reason = rest.str();
  (void)absl::SimpleAtoi(code, &status.exit_code);
  status.state = state == "succeeded"   ? JobState::kSucceeded
                 : state == "cancelled" ? JobState::kCancelled
                                        : JobState::kFailed;
  if (status.state == JobState::kFailed) status.failure = JobFailureFromName(failure);
  status.stdout_text = ReadPrefix(stdout_path(), log_bytes);
  status.stderr_text = ReadPrefix(stderr_path(), log_bytes);
  status.outbox_dir = outbox().string();
  status.usage = ReadUsage(path_ / "usage");
  return status;
}

void JobDirectory::KeepUsage(const JobUsage& usage) const { WriteUsage(path_ / "usage", usage); }

JobUsage JobDirectory::Usage() const { return ReadUsage(path_ / "usage"); }

}  // namespace trenode::adapters
