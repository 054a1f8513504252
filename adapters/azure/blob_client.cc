#include "adapters/azure/blob_client.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "adapters/cloud/http_status.h"
#include "adapters/cloud/url.h"
#include "adapters/cloud/xml.h"
#include "node/common/status_macros.h"

namespace trenode::adapters::azure {
namespace {

using cloud::HttpHeader;
using cloud::HttpRequest;
using cloud::HttpResponse;

// The service's error code and the first line of its message.
std::pair<std::string, std::string> ServiceError(const std::vector<HttpHeader>& headers,
                                                 absl::string_view body) {
  std::string code, message;
  for (const HttpHeader& header : headers) {
    if (header.name == "x-ms-error-code") code = header.value;
  }
  if (absl::StatusOr<cloud::XmlElement> xml = cloud::ParseXml(body); xml.ok()) {
    if (code.empty()) code = xml->ChildText("Code");
    message = xml->ChildText("Message");
    message = message.substr(0, message.find('\n'));
  }
  if (code.empty()) code = "(no error code)";
  return {code, message};
}

// What a person can do about a refusal, where the code says.
std::string Hint(int status, absl::string_view code) {
  if (code == "AuthenticationFailed") {
    return " (check the account key or SAS, and that this host's clock is right)";
  }
  if (code == "AuthorizationFailure") {
    // Azure: refused by the account's rules; Azurite: a bad signature too.
    return " (check the account key or SAS, and that it grants this operation)";
  }
  if (absl::StartsWith(code, "Authorization") && absl::EndsWith(code, "Mismatch")) {
    return " (the SAS or role assignment does not grant this operation)";
  }
  if (code == "ContainerNotFound") return " (create the container first)";
  if (status == 503 || status == 500 || status == 429) return " (the service stayed busy)";
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobClient>> BlobClient::Create(const AzureStorageAccount& account,
                                                               BlobClientOptions options) {
  RETURN_IF_ERROR(cloud::SplitUrl(account.blob_endpoint).status());
  std::optional<AzureSharedKey> key;
  if (!account.account_key.empty()) {
    ASSIGN_OR_RETURN(key, MakeSharedKey(account.account_name, account.account_key));
  } else if (account.sas.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Azure Storage account at ", account.blob_endpoint,
                     " has neither an account key nor a SAS"));
  }
  return std::unique_ptr<BlobClient>(new BlobClient(account, std::move(key), std::move(options)));
}

BlobClient::BlobClient(AzureStorageAccount account, std::optional<AzureSharedKey> key,
                       BlobClientOptions options)
    : account_(std::move(account)),
      key_(std::move(key)),
      options_(std::move(options)),
      account_label_(account_.account_name.empty() ? account_.blob_endpoint
                                                    : account_.account_name),
      http_(options_.http) {}

std::string BlobClient::Url(absl::string_view path) const {
  std::string url = absl::StrCat(account_.blob_endpoint, "/", cloud::PercentEncode(path, true));
  if (!key_) absl::StrAppend(&url, "?", account_.sas);
  return url;
}

absl::StatusOr<HttpRequest> BlobClient::Authorize(const BlobCall& call) const {
  HttpRequest request;
  request.method = call.method;
  request.url = absl::StrCat(account_.blob_endpoint, "/", cloud::PercentEncode(call.path, true));
  std::vector<std::string> query;
  for (const auto& [name, value] : call.query) {
    query.push_back(absl::StrCat(cloud::PercentEncode(name, false), "=",
                                 cloud::PercentEncode(value, false)));
  }
  if (!key_) query.push_back(account_.sas);
  if (!query.empty()) absl::StrAppend(&request.url, "?", absl::StrJoin(query, "&"));
  request.headers = call.headers;
  request.body = call.body;
  if (key_) {
    RETURN_IF_ERROR(SignWithSharedKey(request, *key_, absl::Now()));
  } else {
    request.headers.push_back({"x-ms-version", kAzureStorageVersion});
  }
  return request;
}

absl::StatusOr<HttpResponse> BlobClient::Send(const BlobCall& call) {
  return cloud::SendWithRetries(http_, options_.retry, [&] { return Authorize(call); });
}

absl::StatusOr<std::unique_ptr<cloud::HttpBodyStream>> BlobClient::Open(const BlobCall& call) {
  absl::StatusOr<std::unique_ptr<cloud::HttpBodyStream>> last =
      absl::InternalError("no attempt was made");
  for (int attempt = 1; attempt <= std::max(1, options_.retry.max_attempts); ++attempt) {
    if (attempt > 1) absl::SleepFor(cloud::RetryDelay(options_.retry, attempt - 1));
    ASSIGN_OR_RETURN(HttpRequest request, Authorize(call));
    last = http_.Open(request);
    if (last.ok() && !cloud::IsRetryableStatus((*last)->status())) return last;
    if (!last.ok() && last.status().code() != absl::StatusCode::kUnavailable) return last;
  }
  return last;
}

absl::Status BlobClient::Error(const BlobCall& call, int status,
                               const std::vector<HttpHeader>& headers,
                               absl::string_view body) const {
  auto [code, message] = ServiceError(headers, body);
  bool server_side = cloud::IsRetryableStatus(status);
  std::string text = absl::StrCat(
      "Azure Blob ", server_side ? "failed " : "refused ", call.method, " ", account_label_, "/",
      call.path, ": ", status, " ", code, message.empty() ? "" : ": ", message, Hint(status, code),
      server_side ? absl::StrCat(" after ", options_.retry.max_attempts, " attempts") : "");
  return cloud::StatusForHttpError(status, text);
}

}  // namespace trenode::adapters::azure
