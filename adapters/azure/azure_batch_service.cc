#include "adapters/azure/azure_batch_service.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/cloud/http_status.h"
#include "adapters/cloud/url.h"
#include "node/common/status_macros.h"

namespace trenode::adapters::azure {
namespace {

using cloud::HttpResponse;

constexpr char kJsonContentType[] = "application/json; odata=minimalmetadata";

// Azure's rule for job and task ids: 1 to 64 letters, digits, '-' and '_'.
absl::Status ValidateId(absl::string_view what, absl::string_view id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "Azure Batch ", what, " \"", id, "\" must be 1 to 64 letters, digits, '-' or '_'"));
}

// What a person can do about a refusal, where the code says.
std::string Hint(int status, absl::string_view code) {
  if (code == "AuthenticationFailed" || status == 401) {
    return " (the Batch account key was refused: check it, and that this host's clock is right)";
  }
  if (status == 403) return " (the account does not allow this operation)";
  if (code == "JobNotFound") return " (the job went away; restart the node to create it again)";
  if (cloud::IsRetryableStatus(status)) return " (the service stayed busy)";
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<AzureBatchService>> AzureBatchService::Open(
    AzureBatchOptions options) {
  if (options.account_name.empty()) {
    return absl::InvalidArgumentError("Azure Batch account name is empty");
  }
  absl::StatusOr<AzureSharedKey> key = MakeSharedKey(options.account_name, options.account_key);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the account key of Azure Batch account ",
                                                   options.account_name, " is not base64"));
  }
  while (absl::EndsWith(options.endpoint, "/")) options.endpoint.pop_back();
  if (!cloud::SplitUrl(options.endpoint).ok() || !cloud::IsHttpsOrLocalHttp(options.endpoint)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Azure Batch endpoint \"", options.endpoint,
        "\" must be an https:// URL (plain http only to this host)"));
  }
  RETURN_IF_ERROR(ValidateId("job id", options.job_id));
  RETURN_IF_ERROR(ValidateId("pool id", options.pool_id));
  if (options.image.empty() || options.runner_path.empty()) {
    return absl::InvalidArgumentError("Azure Batch needs the container image and the runner's path");
  }
  std::unique_ptr<AzureBatchService> service(
      new AzureBatchService(std::move(options), std::move(*key)));
  RETURN_IF_ERROR(service->EnsureJob());
  return service;
}

absl::Status AzureBatchService::EnsureJob() {
  ASSIGN_OR_RETURN(HttpResponse added,
                   Send("POST", "/jobs", AddJobBody(options_.job_id, options_.pool_id)));
  if (added.status == 201) return absl::OkStatus();
  if (added.status != 409 || ParseError(added.body).code != "JobExists") {
    return Error("AddJob", absl::StrCat("job ", options_.job_id), added);
  }
  const std::string path = absl::StrCat("/jobs/", cloud::PercentEncode(options_.job_id, false));
  ASSIGN_OR_RETURN(HttpResponse got, Send("GET", path));
  if (got.status != 200) return Error("GetJob", absl::StrCat("job ", options_.job_id), got);
  ASSIGN_OR_RETURN(BatchJobInfo job, ParseJob(got.body));
  if (job.state != "active" || job.pool_id != options_.pool_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Azure Batch job ", options_.job_id, " in account ", options_.account_name, " is ",
        job.state, " on pool \"", job.pool_id, "\", not active on pool ", options_.pool_id,
        "; name another job or delete this one"));
  }
  return absl::OkStatus();
}

std::string AzureBatchService::TaskPath(const std::string& id) const {
  return absl::StrCat("/jobs/", cloud::PercentEncode(options_.job_id, false), "/tasks/",
                      cloud::PercentEncode(id, false));
}

absl::StatusOr<HttpResponse> AzureBatchService::Send(const std::string& method,
                                                     const std::string& path,
                                                     const std::string& body) {
  return cloud::SendWithRetries(http_, options_.retry, [&]() -> absl::StatusOr<cloud::HttpRequest> {
    cloud::HttpRequest request;
    request.method = method;
    request.url = absl::StrCat(options_.endpoint, path, "?api-version=", kAzureBatchApiVersion);
    if (method == "POST") request.headers.push_back({"Content-Type", kJsonContentType});
    request.body = body;
    RETURN_IF_ERROR(SignBatchRequest(request, key_, absl::Now()));
    return request;
  });
}

absl::Status AzureBatchService::Error(absl::string_view operation, absl::string_view subject,
                                      const HttpResponse& response) const {
  BatchServiceError error = ParseError(response.body);
  const bool server_side = cloud::IsRetryableStatus(response.status);
  std::string text = absl::StrCat(
      "Azure Batch ", server_side ? "failed " : "refused ", operation, " of ", subject,
      " (account ", options_.account_name, "): ", response.status, " ", error.code,
      error.message.empty() ? "" : ": ", error.message, Hint(response.status, error.code),
      server_side ? absl::StrCat(" after ", options_.retry.max_attempts, " attempts") : "");
  if (response.status == 409 && (error.code == "TaskExists" || error.code == "JobExists")) {
    return absl::AlreadyExistsError(text);
  }
  return cloud::StatusForHttpError(response.status, text);
}

absl::StatusOr<std::string> AzureBatchService::Submit(const cloud::BatchSubmission& submission) {
  RETURN_IF_ERROR(ValidateId("task id", submission.name));
  ASSIGN_OR_RETURN(
      HttpResponse response,
      Send("POST", absl::StrCat("/jobs/", cloud::PercentEncode(options_.job_id, false), "/tasks"),
           AddTaskBody(submission, {options_.image, options_.runner_path})));
  if (response.status != 201) {
    return Error("AddTask", absl::StrCat("task ", submission.name, " in job ", options_.job_id),
                 response);
  }
  return submission.name;
}

absl::StatusOr<std::string> AzureBatchService::Find(const std::string& name) {
  RETURN_IF_ERROR(Describe(name).status());
  return name;
}

absl::StatusOr<cloud::BatchJob> AzureBatchService::Describe(const std::string& id) {
  RETURN_IF_ERROR(ValidateId("task id", id));
  ASSIGN_OR_RETURN(HttpResponse response, Send("GET", TaskPath(id)));
  if (response.status != 200) {
    return Error("GetTask", absl::StrCat("task ", id, " in job ", options_.job_id), response);
  }
  return ParseTask(response.body);
}

absl::Status AzureBatchService::Terminate(const std::string& id) {
  RETURN_IF_ERROR(ValidateId("task id", id));
  ASSIGN_OR_RETURN(HttpResponse response, Send("POST", absl::StrCat(TaskPath(id), "/terminate")));
  if (response.status == 204 || response.status == 200) return absl::OkStatus();
  if (response.status == 409 && ParseError(response.body).code == "TaskCompleted") {
    return absl::OkStatus();
  }
  return Error("TerminateTask", absl::StrCat("task ", id, " in job ", options_.job_id), response);
}

absl::Status AzureBatchService::Delete(const std::string& id) {
  RETURN_IF_ERROR(ValidateId("task id", id));
  ASSIGN_OR_RETURN(HttpResponse response, Send("DELETE", TaskPath(id)));
  if (response.status == 200 || response.status == 404) return absl::OkStatus();
  return Error("DeleteTask", absl::StrCat("task ", id, " in job ", options_.job_id), response);
}

}  // namespace trenode::adapters::azure
