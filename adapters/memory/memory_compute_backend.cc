#include "adapters/memory/memory_compute_backend.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace trenode::adapters {
namespace fs = std::filesystem;

absl::Status MemoryComputeBackend::Submit(const JobSpec& spec) {
  if (absl::Status valid = ValidateJobSpec(spec); !valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  if (jobs_.contains(spec.job_id)) return absl::OkStatus();
  Job& job = jobs_[spec.job_id];
  job.spec = spec;
  job.starts = 1;
  job.status.state = JobState::kRunning;
  if (behaviour_) {
    FakeOutcome outcome = behaviour_(spec);
    if (!outcome.keep_running) return FinishLocked(job, outcome);
  }
  return absl::OkStatus();
}

absl::StatusOr<JobStatus> MemoryComputeBackend::Status(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  if (found == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  return found->second.status;
}

absl::Status MemoryComputeBackend::Cancel(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  if (found == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  JobStatus& status = found->second.status;
  if (!IsFinished(status.state)) {
    status.state = JobState::kCancelled;
    status.reason = "cancelled";
  }
  return absl::OkStatus();
}

absl::Status MemoryComputeBackend::Remove(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  if (found == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  if (!IsFinished(found->second.status.state)) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " is still running"));
  }
  std::error_code ec;
  fs::remove_all(fs::path(outbox_root_) / job_id, ec);
  jobs_.erase(found);
  return absl::OkStatus();
}

absl::Status MemoryComputeBackend::Finish(const std::string& job_id, const FakeOutcome& outcome) {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  if (found == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  if (IsFinished(found->second.status.state)) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " has ended"));
  }
  return FinishLocked(found->second, outcome);
}

absl::Status MemoryComputeBackend::FinishLocked(Job& job, const FakeOutcome& outcome) {
  fs::path outbox = fs::path(outbox_root_) / job.spec.job_id;
  std::error_code ec;
  fs::create_directories(outbox, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", outbox.string()));
  JobStatus& status = job.status;
  status.exit_code = outcome.exit_code;
  status.stdout_text = outcome.stdout_text.substr(0, job.spec.limits.log_bytes);
  status.stderr_text = outcome.stderr_text.substr(0, job.spec.limits.log_bytes);
  status.outbox_dir = outbox.string();
  status.state = outcome.exit_code == 0 ? JobState::kSucceeded : JobState::kFailed;
  if (outcome.exit_code != 0) {
    status.reason = absl::StrCat("exited with status ", outcome.exit_code);
    status.failure = JobFailure::kExited;
    return absl::OkStatus();
  }
  for (const auto& [name, contents] : outcome.outputs) {
    std::ofstream(outbox / name, std::ios::binary) << contents;
  }
  return absl::OkStatus();
}

int MemoryComputeBackend::starts(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto found = jobs_.find(job_id);
  return found == jobs_.end() ? 0 : found->second.starts;
}

}  // namespace trenode::adapters
