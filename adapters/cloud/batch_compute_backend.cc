#include "adapters/cloud/batch_compute_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "adapters/cloud/digest.h"
#include "adapters/cloud/job_runner.h"
#include "adapters/onprem/job_directory.h"
#include "node/common/status_macros.h"
#include "trenode/internal/batch_job.pb.h"

namespace trenode::adapters::cloud {
namespace {
namespace fs = std::filesystem;
using trenode::internal::BatchJobManifest;
using trenode::internal::BatchJobResult;

constexpr char kManifestUrlVariable[] = "TRENODE_JOB_MANIFEST_URL";

internal::PresignedHttp ToProto(const PresignedRequest& request) {
  internal::PresignedHttp http;
  http.set_method(request.method);
  http.set_url(request.url);
  for (const auto& [name, value] : request.headers) (*http.mutable_headers())[name] = value;
  return http;
}

internal::JobLimits ToProto(const ComputeLimits& limits) {
  internal::JobLimits proto;
  proto.set_cpu_seconds(absl::ToInt64Seconds(limits.cpu));
  proto.set_wall_seconds(absl::ToInt64Seconds(limits.wall));
  proto.set_memory_bytes(limits.memory_bytes);
  proto.set_output_bytes(limits.output_bytes);
  proto.set_output_files(limits.output_files);
  proto.set_processes(limits.processes);
  proto.set_log_bytes(limits.log_bytes);
  return proto;
}

ComputeLimits FromProto(const internal::JobLimits& proto) {
  ComputeLimits limits;
  limits.cpu = absl::Seconds(proto.cpu_seconds());
  limits.wall = absl::Seconds(proto.wall_seconds());
  limits.memory_bytes = proto.memory_bytes();
  limits.output_bytes = proto.output_bytes();
  limits.output_files = proto.output_files();
  limits.processes = static_cast<int>(proto.processes());
  limits.log_bytes = proto.log_bytes();
  return limits;
}

// Uploads the local file to `key`; returns its lower-case hex SHA-256.
absl::StatusOr<std::string> UploadFile(ObjectStore& store, const std::string& key,
                                       const fs::path& path, int64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, store.OpenWrite(key));
  Sha256Hasher hash;
  std::string buffer(1 << 20, '\0');
  *size = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    absl::string_view chunk(buffer.data(), static_cast<size_t>(in.gcount()));
    if (chunk.empty()) break;
    hash.Update(chunk);
    RETURN_IF_ERROR(writer->Append(chunk));
    *size += static_cast<int64_t>(chunk.size());
  }
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read ", path.string()));
  RETURN_IF_ERROR(writer->Commit());
  return hash.HexDigest();
}

std::string ReadSmallFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `data` to `path` atomically (through a temporary and a rename).
absl::Status WriteSmallFile(const fs::path& path, absl::string_view data) {
  fs::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", path.string()));
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

fs::path ServiceIdFile(const JobDirectory& dir) { return dir.path() / "service-id"; }
// Written when a submission may have been accepted but its answer was lost:
// the time (Unix seconds) it was sent.
fs::path UncertainFile(const JobDirectory& dir) { return dir.path() / "submit-uncertain"; }

// How long a job whose submission answer was lost is looked for by name
// before it is given up (never submitted again).
constexpr absl::Duration kFindGrace = absl::Minutes(5);

// Written by Cancel once the service was asked to terminate the job: the
// time (Unix seconds). The job is settled as cancelled when the service
// says it ended, charged what the runner's result says it used.
fs::path CancelFile(const JobDirectory& dir) { return dir.path() / "cancel-requested"; }
// How long a terminated job's end is waited for (AWS Batch kills a
// container 30 s after its SIGTERM) before it is settled unmetered.
constexpr absl::Duration kCancelGrace = absl::Minutes(2);

// The most bytes a result may hold: every output and both logs, with room
// for names, framing and usage.
int64_t MostResultBytes(const ComputeLimits& limits) {
  return limits.output_bytes + 2 * limits.log_bytes + limits.output_files * 1024 + (64 << 10);
}

// The first `limit` + 1 bytes of the object at most.
absl::StatusOr<std::string> ReadCapped(ObjectStore& store, const std::string& key,
                                       int64_t limit) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, store.OpenRead(key));
  std::string content;
  while (static_cast<int64_t>(content.size()) <= limit) {
    ASSIGN_OR_RETURN(std::string chunk, reader->Read(1 << 20));
    if (chunk.empty()) break;
    content += chunk;
  }
  return content;
}

// Creates `path` (which must not exist, nor be a link) holding `data`.
absl::Status CreateFile(const fs::path& path, absl::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot create ", path.string()));
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  if (written != data.size()) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path.string()));
  }
  return absl::OkStatus();
}
fs::path LimitsFile(const JobDirectory& dir) { return dir.path() / "limits"; }

// The runner's metering (spec/charging.md, "Cloud batch"); metered_by
// "none" (wall time only) where it metered nothing. The runner is the TRE's
// own program and the job cannot reach its result, but a value out of range
// still counts as not metered.
JobUsage UsageOf(const internal::JobUsage& metered) {
  JobUsage usage;
  usage.wall_micros = std::max<int64_t>(0, metered.wall_micros());
  if (metered.cpu_micros() < 0) return usage;
  switch (metered.source()) {
    case internal::JobUsage::RUSAGE:
      usage.metered_by = "job-runner-rusage";
      break;
    case internal::JobUsage::CGROUP:
      usage.metered_by = "job-runner-cgroup";
      break;
    default:
      return usage;
  }
  usage.cpu_micros = metered.cpu_micros();
  usage.peak_memory_bytes = std::max<int64_t>(0, metered.peak_memory_bytes());
  return usage;
}

ComputeLimits LimitsOf(const JobDirectory& dir) {
  internal::JobLimits proto;
  proto.ParseFromString(ReadSmallFile(LimitsFile(dir)));
  return FromProto(proto);
}

}  // namespace

absl::StatusOr<std::unique_ptr<BatchComputeBackend>> BatchComputeBackend::Create(
    BatchBackendOptions options, std::unique_ptr<BatchService> service, ObjectStore* store,
    ObjectUrlSigner* signer) {
  if (options.work_root.empty() || service == nullptr || store == nullptr || signer == nullptr) {
    return absl::InvalidArgumentError("a batch backend needs a work_root, service, store and signer");
  }
  if (!options.key_prefix.empty()) {
    if (!absl::EndsWith(options.key_prefix, "/") ||
        !ValidateObjectKey(absl::StripSuffix(options.key_prefix, "/")).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "key_prefix \"", options.key_prefix, "\" must be a valid object key followed by '/'"));
    }
  }
  std::error_code ec;
  fs::create_directories(options.work_root, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create work_root ", options.work_root, ": ", ec.message()));
  }
  return std::unique_ptr<BatchComputeBackend>(
      new BatchComputeBackend(std::move(options), std::move(service), store, signer));
}

std::string BatchComputeBackend::StagedKey(const std::string& job_id,
                                           const std::string& name) const {
  return absl::StrCat(options_.key_prefix, job_id, "/", name);
}

absl::Status BatchComputeBackend::Stage(const JobSpec& spec) {
  const absl::Duration valid_for = spec.limits.wall + options_.queue_allowance;
  BatchJobManifest manifest;
  manifest.set_job_id(spec.job_id);
  for (const std::string& arg : spec.command) manifest.add_command(arg);
  *manifest.mutable_limits() = ToProto(spec.limits);
  std::error_code ec;
  int index = 0;
  for (auto it = fs::recursive_directory_iterator(spec.code_dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    fs::file_status status = it->symlink_status(ec);
    if (fs::is_directory(status)) continue;
    std::string path = it->path().lexically_relative(spec.code_dir).string();
    if (!fs::is_regular_file(status) || !IsPlainRelativePath(path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("code_dir holds ", path, ", which is not a regular file"));
    }
    const std::string key = StagedKey(spec.job_id, absl::StrCat("code/", index++));
    internal::StagedFile* file = manifest.add_code();
    file->set_path(path);
    int64_t size = 0;
    ASSIGN_OR_RETURN(std::string sha256, UploadFile(*store_, key, it->path(), &size));
    file->set_sha256(sha256);
    file->set_size(size);
    file->set_executable((status.permissions() & fs::perms::owner_exec) != fs::perms::none);
    ASSIGN_OR_RETURN(PresignedRequest get, signer_->PresignGet(key, valid_for));
    *file->mutable_get() = ToProto(get);
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read code_dir ", spec.code_dir, ": ", ec.message()));
  }
  for (const DatasetMount& dataset : spec.datasets) {
    const std::string key = StagedKey(spec.job_id, absl::StrCat("data/", dataset.name));
    internal::StagedFile* file = manifest.add_datasets();
    file->set_path(dataset.name);
    int64_t size = 0;
    ASSIGN_OR_RETURN(std::string sha256, UploadFile(*store_, key, dataset.path, &size));
    file->set_sha256(sha256);
    file->set_size(size);
    ASSIGN_OR_RETURN(PresignedRequest get, signer_->PresignGet(key, valid_for));
    *file->mutable_get() = ToProto(get);
  }
  ASSIGN_OR_RETURN(PresignedRequest put,
                   signer_->PresignPut(StagedKey(spec.job_id, "result"), valid_for));
  *manifest.mutable_put_result() = ToProto(put);
  return WriteObject(*store_, StagedKey(spec.job_id, "manifest"), manifest.SerializeAsString());
}

absl::Status BatchComputeBackend::Start(const std::string& job_id) {
  JobDirectory dir(options_.work_root, job_id);
  const ComputeLimits limits = LimitsOf(dir);
  absl::StatusOr<std::string> id = service_->Find(job_id);
  if (!id.ok() && id.status().code() != absl::StatusCode::kNotFound) return id.status();
  if (!id.ok()) {
    ASSIGN_OR_RETURN(PresignedRequest manifest,
                     signer_->PresignGet(StagedKey(job_id, "manifest"),
                                         limits.wall + options_.queue_allowance));
    BatchSubmission submission;
    submission.name = job_id;
    submission.environment = {{kManifestUrlVariable, manifest.url}};
    // The container holds the job's processes and /tmp, and the runner,
    // which holds the outbox about three times over while it returns it.
    submission.memory_mib = std::max<int64_t>(limits.memory_bytes >> 20, 256) + 256 +
                            ((3 * limits.output_bytes + 2 * limits.log_bytes) >> 20);
    submission.vcpus = options_.vcpus;
    submission.timeout = limits.wall + absl::Minutes(15);
    id = service_->Submit(submission);
    if (!id.ok() && id.status().code() == absl::StatusCode::kAlreadyExists) {
      id = service_->Find(job_id);
    }
    if (!id.ok() && id.status().code() == absl::StatusCode::kUnknown) {
      // It may run: from now on it is only looked for, never submitted again.
      RETURN_IF_ERROR(WriteSmallFile(UncertainFile(dir), absl::StrCat(absl::ToUnixSeconds(absl::Now()))));
      return absl::UnavailableError(absl::StrCat("waiting to learn whether the batch service took job ",
                                                 job_id, ": ", id.status().message()));
    }
    if (!id.ok()) return id.status();
  }
  return WriteSmallFile(ServiceIdFile(dir), *id);
}

absl::Status BatchComputeBackend::Submit(const JobSpec& spec) {
  RETURN_IF_ERROR(ValidateJobSpec(spec));
  absl::MutexLock lock(&mu_);
  JobDirectory dir(options_.work_root, spec.job_id);
  if (dir.Exists()) return absl::OkStatus();
  if (absl::Status staged = Stage(spec); !staged.ok()) {
    Clean(spec.job_id);
    return staged;
  }
  RETURN_IF_ERROR(dir.Create(::geteuid()));
  RETURN_IF_ERROR(WriteSmallFile(LimitsFile(dir), ToProto(spec.limits).SerializeAsString()));
  absl::Status started = Start(spec.job_id);
  if (!started.ok() && started.code() != absl::StatusCode::kUnavailable) {
    // Refused for good (a bad request, refused credentials): nothing stays.
    Clean(spec.job_id);
    std::error_code ec;
    fs::remove_all(dir.path(), ec);
    return absl::Status(started.code(),
                        absl::StrCat("the batch service refused job ", spec.job_id, ": ",
                                     started.message()));
  }
  // Unavailable: the job stays staged, and Status() asks the service again.
  return started;
}

absl::StatusOr<JobStatus> BatchComputeBackend::Status(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  JobDirectory dir(options_.work_root, job_id);
  if (!dir.Exists()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  const ComputeLimits limits = LimitsOf(dir);
  if (std::optional<JobStatus> ended = dir.Result(limits.log_bytes)) return *ended;
  JobStatus status;
  status.state = JobState::kQueued;
  std::string service_id = ReadSmallFile(ServiceIdFile(dir));
  if (service_id.empty()) {
    int64_t uncertain_since = 0;
    if (absl::SimpleAtoi(ReadSmallFile(UncertainFile(dir)), &uncertain_since)) {
      absl::StatusOr<std::string> found = service_->Find(job_id);
      if (found.ok()) {
        (void)WriteSmallFile(ServiceIdFile(dir), *found);
      } else if (found.status().code() == absl::StatusCode::kNotFound &&
                 absl::Now() - absl::FromUnixSeconds(uncertain_since) > kFindGrace) {
        return SettleWith(job_id, JobFailure::kBackend,
                          "the batch service's answer to the job's submission was lost and it "
                          "has no job of this name; the job was not submitted again, so that it "
                          "never runs twice",
                          limits);
      }
      return status;
    }
    if (absl::Status started = Start(job_id); !started.ok()) {
      status.reason = absl::StrCat("waiting to reach the batch service: ", started.message());
    }
    return status;
  }
  absl::StatusOr<BatchJob> job = service_->Describe(service_id);
  if (!job.ok() && job.status().code() != absl::StatusCode::kNotFound) return job.status();
  int64_t cancelled_at = 0;
  if (absl::SimpleAtoi(ReadSmallFile(CancelFile(dir)), &cancelled_at)) {
    const bool ended = !job.ok() || (job->phase != BatchPhase::kWaiting &&
                                     job->phase != BatchPhase::kRunning);
    if (!ended && absl::Now() - absl::FromUnixSeconds(cancelled_at) < kCancelGrace) {
      status.state = JobState::kRunning;
      status.reason = "cancelling: waiting for the batch service to stop the job";
      return status;
    }
    return SettleCancelled(job_id, limits);
  }
  if (job.ok() && job->phase == BatchPhase::kWaiting) return status;
  if (job.ok() && job->phase == BatchPhase::kRunning) {
    status.state = JobState::kRunning;
    return status;
  }
  std::string service_reason =
      job.ok() ? absl::StrCat("the batch service says: ", job->reason, " (exit status ",
                              job->exit_code, ")")
               : absl::StrCat("the batch service no longer knows job ", service_id);
  return Judge(job_id, limits, service_reason);
}

JobStatus BatchComputeBackend::SettleWith(const std::string& job_id, JobFailure failure,
                                          const std::string& reason, const ComputeLimits& limits,
                                          const JobUsage& usage) {
  JobDirectory dir(options_.work_root, job_id);
  JobEnd end;
  end.verdict = failure;
  end.verdict_reason = reason;
  end.usage = usage;
  JobStatus status = dir.Settle(end, limits);
  Clean(job_id);
  return status;
}

JobStatus BatchComputeBackend::SettleCancelled(const std::string& job_id,
                                               const ComputeLimits& limits) {
  JobEnd end;
  end.cancelled = true;
  // What the runner metered until it stopped the job, if it returned it.
  const int64_t most = MostResultBytes(limits);
  absl::StatusOr<std::string> bytes = ReadCapped(*store_, StagedKey(job_id, "result"), most);
  BatchJobResult result;
  if (bytes.ok() && static_cast<int64_t>(bytes->size()) <= most &&
      result.ParseFromString(*bytes) && result.job_id() == job_id &&
      result.runner_error().empty()) {
    end.usage = UsageOf(result.usage());
  }
  JobDirectory dir(options_.work_root, job_id);
  JobStatus status = dir.Settle(end, limits);
  Clean(job_id);
  return status;
}

JobStatus BatchComputeBackend::Judge(const std::string& job_id, const ComputeLimits& limits,
                                     const std::string& service_reason) {
  const std::string key = StagedKey(job_id, "result");
  // The read stops one byte past the most, so a larger result is never
  // held whole.
  const int64_t most = MostResultBytes(limits);
  absl::StatusOr<std::string> bytes = ReadCapped(*store_, key, most);
  if (!bytes.ok() && bytes.status().code() == absl::StatusCode::kNotFound) {
    return SettleWith(job_id, JobFailure::kBackend,
                      absl::StrCat("the job ended without a result; ", service_reason), limits);
  }
  if (bytes.ok() && static_cast<int64_t>(bytes->size()) > most) {
    return SettleWith(job_id, JobFailure::kOutputLimit,
                      "the job returned more bytes than its output limits allow", limits);
  }
  BatchJobResult result;
  if (!bytes.ok() || !result.ParseFromString(*bytes) || result.job_id() != job_id) {
    return SettleWith(job_id, JobFailure::kBackend,
                      bytes.ok() ? "the job's result is not a result of this job"
                                 : absl::StrCat("cannot read the job's result: ",
                                                bytes.status().message()),
                      limits);
  }
  if (!result.runner_error().empty()) {
    return SettleWith(job_id, JobFailure::kBackend,
                      absl::StrCat("the job runner could not run the job: ", result.runner_error()),
                      limits);
  }
  // From here the job ran: whatever the verdict, it is charged what it used.
  const JobUsage usage = UsageOf(result.usage());
  JobDirectory dir(options_.work_root, job_id);
  (void)WriteSmallFile(dir.stdout_path(), result.stdout_text().substr(0, limits.log_bytes));
  (void)WriteSmallFile(dir.stderr_path(), result.stderr_text().substr(0, limits.log_bytes));
  if (!result.outbox_error().empty()) {
    return SettleWith(job_id, JobFailure::kOutputLimit, result.outbox_error(), limits, usage);
  }
  // The runner checked the outbox, but the node trusts only its own check.
  std::set<std::string> names;
  int64_t total = 0;
  for (const internal::OutputFile& file : result.outputs()) {
    total += static_cast<int64_t>(file.content().size());
    std::string problem;
    if (!IsPlainRelativePath(file.name()) || !names.insert(file.name()).second) {
      problem = absl::StrCat("the job returned a file named \"", absl::CHexEscape(file.name()),
                             "\", which cannot be in an outbox");
    } else if (static_cast<int64_t>(names.size()) > limits.output_files) {
      problem = absl::StrCat("the outbox holds more than ", limits.output_files, " files");
    } else if (total > limits.output_bytes) {
      problem = absl::StrCat("the outbox holds more than the limit of ", limits.output_bytes,
                             " bytes");
    }
    if (!problem.empty()) {
      return SettleWith(job_id, JobFailure::kOutputLimit, problem, limits, usage);
    }
  }
  for (const internal::OutputFile& file : result.outputs()) {
    // Each name once, created afresh: no name can stand in for another.
    fs::path path = dir.outbox() / file.name();
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec || !CreateFile(path, file.content()).ok()) {
      dir.ClearOutbox();
      return SettleWith(job_id, JobFailure::kOutputLimit,
                        absl::StrCat("the job returned a file named \"",
                                     absl::CHexEscape(file.name()),
                                     "\", which cannot be in an outbox beside the others"),
                        limits, usage);
    }
  }
  JobEnd end;
  end.exit_code = result.exit_code();
  end.timed_out = result.timed_out();
  end.usage = usage;
  JobStatus status = dir.Settle(end, limits);
  Clean(job_id);
  return status;
}

absl::Status BatchComputeBackend::Cancel(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  JobDirectory dir(options_.work_root, job_id);
  if (!dir.Exists()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  const ComputeLimits limits = LimitsOf(dir);
  if (dir.Result(limits.log_bytes)) return absl::OkStatus();
  std::string service_id = ReadSmallFile(ServiceIdFile(dir));
  if (service_id.empty()) {
    absl::StatusOr<std::string> found = service_->Find(job_id);
    if (!found.ok() && found.status().code() != absl::StatusCode::kNotFound) {
      return found.status();
    }
    if (found.ok()) service_id = *found;
  }
  if (!service_id.empty()) {
    absl::Status terminated = service_->Terminate(service_id);
    if (!terminated.ok() && terminated.code() != absl::StatusCode::kNotFound) return terminated;
    if (terminated.ok() && ReadSmallFile(ServiceIdFile(dir)) == service_id) {
      // Settled by Status once the service says the job ended, with what
      // the runner metered.
      if (ReadSmallFile(CancelFile(dir)).empty()) {
        RETURN_IF_ERROR(
            WriteSmallFile(CancelFile(dir), absl::StrCat(absl::ToUnixSeconds(absl::Now()))));
      }
      return absl::OkStatus();
    }
  }
  JobEnd end;
  end.cancelled = true;
  dir.Settle(end, limits);
  Clean(job_id);
  return absl::OkStatus();
}

absl::Status BatchComputeBackend::Remove(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  JobDirectory dir(options_.work_root, job_id);
  if (!dir.Exists()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  if (!dir.Result(LimitsOf(dir).log_bytes)) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " has not ended"));
  }
  Clean(job_id);
  std::error_code ec;
  fs::remove_all(dir.path(), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot remove ", dir.path().string()));
  return absl::OkStatus();
}

void BatchComputeBackend::Clean(const std::string& job_id) {
  absl::StatusOr<std::vector<ObjectInfo>> staged = store_->List(StagedKey(job_id, ""));
  if (staged.ok()) {
    for (const ObjectInfo& object : *staged) (void)store_->Delete(object.key);
  }
  std::string service_id =
      ReadSmallFile(ServiceIdFile(JobDirectory(options_.work_root, job_id)));
  if (!service_id.empty()) (void)service_->Delete(service_id);
}

}  // namespace trenode::adapters::cloud
