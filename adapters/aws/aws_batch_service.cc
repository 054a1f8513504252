#include "adapters/aws/aws_batch_service.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/aws/sigv4.h"
#include "adapters/cloud/url.h"
#include "node/common/status_macros.h"
#include "trenode/internal/aws_batch.pb.h"

namespace trenode::adapters::aws {
namespace {
namespace batch = trenode::internal::aws_batch;
using cloud::HttpRequest;
using cloud::HttpResponse;

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

absl::Status FromJson(const std::string& operation, const std::string& json,
                      google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(json, message, options).ok()) {
    return absl::UnavailableError(
        absl::StrCat("aws batch ", operation, ": the answer is not the documented JSON"));
  }
  return absl::OkStatus();
}

cloud::BatchPhase PhaseOf(const std::string& status) {
  if (status == "RUNNING") return cloud::BatchPhase::kRunning;
  if (status == "SUCCEEDED") return cloud::BatchPhase::kSucceeded;
  if (status == "FAILED") return cloud::BatchPhase::kFailed;
  return cloud::BatchPhase::kWaiting;  // SUBMITTED, PENDING, RUNNABLE, STARTING
}

}  // namespace

absl::StatusOr<std::unique_ptr<AwsBatchService>> AwsBatchService::Open(
    AwsBatchOptions options, std::shared_ptr<AwsCredentialsProvider> credentials) {
  if (options.region.empty()) return absl::InvalidArgumentError("aws_batch.region is required");
  if (options.job_queue.empty()) return absl::InvalidArgumentError("aws_batch.job_queue is required");
  if (options.job_definition.empty()) {
    return absl::InvalidArgumentError("aws_batch.job_definition is required");
  }
  if (!options.endpoint.empty() && !cloud::IsHttpsOrLocalHttp(options.endpoint)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "aws_batch.endpoint \"", options.endpoint, "\" must be https:// (plain http only to this host)"));
  }
  if (credentials == nullptr) return absl::InvalidArgumentError("aws_batch: no credentials provider");
  return std::unique_ptr<AwsBatchService>(
      new AwsBatchService(std::move(options), std::move(credentials)));
}

AwsBatchService::AwsBatchService(AwsBatchOptions options,
                                 std::shared_ptr<AwsCredentialsProvider> credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)), http_(options_.http) {
  endpoint_ = options_.endpoint.empty()
                  ? absl::StrCat("https://batch.", options_.region, ".amazonaws.com")
                  : options_.endpoint;
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

absl::StatusOr<cloud::HttpRequest> AwsBatchService::Signed(const std::string& operation,
                                                           const std::string& json) {
  absl::StatusOr<AwsCredentials> credentials = credentials_->Get();
  if (!credentials.ok()) {
    return absl::Status(credentials.status().code(),
                        absl::StrCat("no AWS credentials for AWS Batch (", credentials_->Source(),
                                     "): ", credentials.status().message()));
  }
  HttpRequest request{"POST", absl::StrCat(endpoint_, "/v1/", operation),
                      {{"Content-Type", "application/json"}}, json};
  RETURN_IF_ERROR(SignRequest(request, *credentials, {options_.region, "batch"}, absl::Now())
                      .status());
  return request;
}

absl::StatusOr<std::string> AwsBatchService::Call(const std::string& operation,
                                                  const std::string& json, bool idempotent) {
  absl::StatusOr<HttpResponse> sent;
  if (idempotent) {
    sent = cloud::SendWithRetries(http_, options_.retry, [&] { return Signed(operation, json); });
  } else {
    for (int attempt = 0; attempt < std::max(1, options_.retry.max_attempts); ++attempt) {
      if (attempt > 0) absl::SleepFor(cloud::RetryDelay(options_.retry, attempt));
      ASSIGN_OR_RETURN(HttpRequest request, Signed(operation, json));
      request.fresh_connection = true;
      sent = http_.Send(request);
      if (!sent.ok()) {
        return absl::UnknownError(absl::StrCat("aws batch ", operation,
                                               ": no answer, so it may have been done (",
                                               sent.status().message(), ")"));
      }
      if (!cloud::IsRetryableStatus(sent->status)) break;
    }
  }
  if (!sent.ok()) return sent.status();
  const HttpResponse& response = *sent;
  if (response.status == 200) return response.body;
  batch::ErrorBody error;
  (void)FromJson(operation, response.body, &error);
  std::string type = error.type();
  if (type.empty()) type = response.Header("x-amzn-ErrorType").value_or("");
  std::string what = absl::StrCat("aws batch ", operation, ": HTTP ", response.status, " ", type,
                                  ": ", error.message());
  if (response.status == 403 || response.status == 401) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, " (AWS Batch refused the node's credentials from ",
                     credentials_->Source(), ")"));
  }
  if (cloud::IsRetryableStatus(response.status)) return absl::UnavailableError(what);
  return absl::InvalidArgumentError(what);
}

absl::StatusOr<std::string> AwsBatchService::Submit(const cloud::BatchSubmission& submission) {
  batch::SubmitJobRequest request;
  request.set_job_name(submission.name);
  request.set_job_queue(options_.job_queue);
  request.set_job_definition(options_.job_definition);
  batch::ContainerOverrides* overrides = request.mutable_container_overrides();
  for (const auto& [name, value] : submission.environment) {
    batch::KeyValuePair* variable = overrides->add_environment();
    variable->set_name(name);
    variable->set_value(value);
  }
  batch::ResourceRequirement* memory = overrides->add_resource_requirements();
  memory->set_type("MEMORY");
  memory->set_value(absl::StrCat(submission.memory_mib));
  batch::ResourceRequirement* vcpus = overrides->add_resource_requirements();
  vcpus->set_type("VCPU");
  vcpus->set_value(absl::StrCat(submission.vcpus));
  // AWS Batch's shortest timeout is 60 s.
  request.mutable_timeout()->set_attempt_duration_seconds(
      static_cast<int32_t>(std::max<int64_t>(60, absl::ToInt64Seconds(submission.timeout))));
  request.mutable_retry_strategy()->set_attempts(1);
  ASSIGN_OR_RETURN(std::string body, Call("submitjob", ToJson(request), /*idempotent=*/false));
  batch::SubmitJobResponse response;
  RETURN_IF_ERROR(FromJson("submitjob", body, &response));
  if (response.job_id().empty()) return absl::UnavailableError("aws batch submitjob: no jobId");
  return response.job_id();
}

absl::StatusOr<std::string> AwsBatchService::Find(const std::string& name) {
  batch::ListJobsRequest request;
  request.set_job_queue(options_.job_queue);
  batch::KeyValuesPair* filter = request.add_filters();
  filter->set_name("JOB_NAME");
  filter->add_values(name);
  for (int page = 0; page < 100; ++page) {
    ASSIGN_OR_RETURN(std::string body, Call("listjobs", ToJson(request)));
    batch::ListJobsResponse response;
    RETURN_IF_ERROR(FromJson("listjobs", body, &response));
    for (const batch::JobSummary& job : response.job_summary_list()) {
      // JOB_NAME matches prefixes ending in '*' too; ours have none.
      if (job.job_name() == name) return job.job_id();
    }
    if (response.next_token().empty()) break;
    request.set_next_token(response.next_token());
  }
  return absl::NotFoundError(absl::StrCat("aws batch has no job named ", name));
}

absl::StatusOr<cloud::BatchJob> AwsBatchService::Describe(const std::string& id) {
  batch::DescribeJobsRequest request;
  request.add_jobs(id);
  ASSIGN_OR_RETURN(std::string body, Call("describejobs", ToJson(request)));
  batch::DescribeJobsResponse response;
  RETURN_IF_ERROR(FromJson("describejobs", body, &response));
  for (const batch::JobDetail& job : response.jobs()) {
    if (job.job_id() != id) continue;
    cloud::BatchJob answer;
    answer.phase = PhaseOf(job.status());
    if (job.container().has_exit_code()) answer.exit_code = job.container().exit_code();
    answer.reason = job.status_reason();
    if (!job.container().reason().empty()) {
      absl::StrAppend(&answer.reason, answer.reason.empty() ? "" : "; ", job.container().reason());
    }
    return answer;
  }
  return absl::NotFoundError(absl::StrCat("aws batch has no job ", id));
}

absl::Status AwsBatchService::Terminate(const std::string& id) {
  ASSIGN_OR_RETURN(cloud::BatchJob job, Describe(id));
  if (job.phase == cloud::BatchPhase::kSucceeded || job.phase == cloud::BatchPhase::kFailed) {
    return absl::OkStatus();
  }
  batch::TerminateJobRequest request;
  request.set_job_id(id);
  request.set_reason("cancelled by the trenode node");
  return Call("terminatejob", ToJson(request)).status();
}

absl::Status AwsBatchService::Delete(const std::string&) { return absl::OkStatus(); }

}  // namespace trenode::adapters::aws
