#include "adapters/compute_backend.h"

#include "absl/strings/str_cat.h"

namespace trenode::adapters {
namespace {

bool IsName(absl::string_view name, size_t max) {
  if (name.empty() || name.size() > max) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

namespace {
struct FailureWords {
  JobFailure failure;
  const char* name;
  const char* text;
};
constexpr FailureWords kFailures[] = {
    {JobFailure::kNone, "none", "the job did not fail"},
    {JobFailure::kExited, "exited", "the job exited with an error"},
    {JobFailure::kWallLimit, "wall-limit", "the job ran longer than its wall-clock limit"},
    {JobFailure::kCpuLimit, "cpu-limit", "the job used more than its CPU-time limit"},
    {JobFailure::kKilled, "killed", "the job was killed (CPU-time or memory limit)"},
    {JobFailure::kOutputLimit, "output-limit", "the job's outputs broke the output limits"},
    {JobFailure::kLost, "lost", "the node stopped while the job ran; it was not run again"},
    {JobFailure::kBackend, "backend",
     "the compute backend ended the job before it finished (time limit or node failure)"},
};
}  // namespace

const char* JobFailureName(JobFailure failure) {
  for (const FailureWords& words : kFailures) {
    if (words.failure == failure) return words.name;
  }
  return "exited";
}

JobFailure JobFailureFromName(absl::string_view name) {
  for (const FailureWords& words : kFailures) {
    if (words.name == name) return words.failure;
  }
  return JobFailure::kExited;
}

const char* JobFailureText(JobFailure failure) {
  for (const FailureWords& words : kFailures) {
    if (words.failure == failure) return words.text;
  }
  return "the job failed";
}

bool IsFinished(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

absl::Status ValidateJobSpec(const JobSpec& spec) {
  if (!IsName(spec.job_id, 64)) {
    return absl::InvalidArgumentError(
        absl::StrCat("job id \"", spec.job_id, "\" is not [a-z0-9-]{1,64}"));
  }
  if (spec.command.empty() || spec.command[0].empty()) {
    return absl::InvalidArgumentError("the job has no command");
  }
  if (spec.code_dir.empty() || spec.code_dir[0] != '/') {
    return absl::InvalidArgumentError("the job's code directory must be an absolute path");
  }
  for (const DatasetMount& dataset : spec.datasets) {
    if (!IsName(dataset.name, 63) || dataset.path.empty() || dataset.path[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          "dataset mount \"", dataset.name, "\" needs a name [a-z0-9-]+ and an absolute path"));
    }
  }
  const ComputeLimits& l = spec.limits;
  if (l.cpu <= absl::ZeroDuration() || l.wall <= absl::ZeroDuration() || l.memory_bytes <= 0 ||
      l.output_bytes <= 0 || l.output_files <= 0 || l.processes <= 0 || l.log_bytes < 0) {
    return absl::InvalidArgumentError("every limit must be positive");
  }
  return absl::OkStatus();
}

}  // namespace trenode::adapters
