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
