// BlobClient: authorized requests to one storage account's Blob service,
// with retries, and the one place an Azure answer becomes an absl::Status.
// Requests carry the account key's Shared Key signature, or the account's SAS
// in their query string, and always the pinned x-ms-version.
//
// Thread-safety: a BlobClient may be used from many threads at once.
#ifndef TRENODE_ADAPTERS_AZURE_BLOB_CLIENT_H_
#define TRENODE_ADAPTERS_AZURE_BLOB_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/azure/connection_string.h"
#include "adapters/azure/shared_key.h"
#include "adapters/cloud/http_client.h"
#include "adapters/cloud/retry.h"

namespace trenode::adapters::azure {

struct BlobClientOptions {
  cloud::RetryPolicy retry;
  cloud::HttpOptions http;
};

// One Blob service operation, before authorization.
struct BlobCall {
  std::string method;
  // Under the endpoint, not yet encoded: "container" or "container/blob/name".
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;  // not yet encoded
  std::vector<cloud::HttpHeader> headers;
  std::string body;
};

class BlobClient {
 public:
  // InvalidArgument if the account's key is not base64 or its endpoint is no URL.
  static absl::StatusOr<std::unique_ptr<BlobClient>> Create(const AzureStorageAccount& account,
                                                            BlobClientOptions options = {});

  // Sends `call` (signed afresh for each attempt), retrying as the policy
  // says; the final response whatever its status, or Unavailable if no
  // attempt got one.
  absl::StatusOr<cloud::HttpResponse> Send(const BlobCall& call);
  // As Send, but the body is streamed as it arrives (for Get Blob).
  absl::StatusOr<std::unique_ptr<cloud::HttpBodyStream>> Open(const BlobCall& call);

  // The absolute URL of `path`, with the SAS if the client has one (a Copy
  // Blob source is named this way).
  std::string Url(absl::string_view path) const;

  // The Status for an Azure answer that was not a success: the code says what
  // the caller should do (NotFound, PermissionDenied, FailedPrecondition for
  // 409/412, Unavailable for 5xx and throttling after the retries, ...), and
  // the message names the operation, the account, the path and the service's
  // error code and message, e.g. "Azure Blob refused GET devstoreaccount1/c/k:
  // 403 AuthenticationFailed: Server failed to authenticate the request ...".
  // `body` may be empty (HEAD responses carry the code in x-ms-error-code).
  absl::Status Error(const BlobCall& call, int status,
                     const std::vector<cloud::HttpHeader>& headers, absl::string_view body) const;
  absl::Status Error(const BlobCall& call, const cloud::HttpResponse& response) const {
    return Error(call, response.status, response.headers, response.body);
  }

  // The account key, if the client signs with one (absent: it uses a SAS).
  const std::optional<AzureSharedKey>& shared_key() const { return key_; }
  const std::string& endpoint() const { return account_.blob_endpoint; }

  // The account's name, or its endpoint when the name is unknown (for messages).
  const std::string& account_label() const { return account_label_; }
  const cloud::RetryPolicy& retry_policy() const { return options_.retry; }

 private:
  BlobClient(AzureStorageAccount account, std::optional<AzureSharedKey> key,
             BlobClientOptions options);
  absl::StatusOr<cloud::HttpRequest> Authorize(const BlobCall& call) const;

  const AzureStorageAccount account_;
  const std::optional<AzureSharedKey> key_;  // absent: the SAS authorizes
  const BlobClientOptions options_;
  const std::string account_label_;
  cloud::HttpClient http_;
};

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_BLOB_CLIENT_H_
