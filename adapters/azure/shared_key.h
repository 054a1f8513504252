// Shared Key authorization for the Azure Blob service, as "Authorize with
// Shared Key" defines it for service version 2015-02-21 and later: an
// HMAC-SHA256, under the account key, of the request's verb, standard
// headers, x-ms- headers and canonicalized resource. And the Azure Batch
// service's variant ("Authenticate requests to Azure Batch"): ocp- headers
// in place of x-ms- ones, ocp-date as the date, Content-Length signed as sent.
//
// Thread-safety: the functions are thread-safe.
#ifndef TRENODE_ADAPTERS_AZURE_SHARED_KEY_H_
#define TRENODE_ADAPTERS_AZURE_SHARED_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/cloud/http_client.h"

namespace trenode::adapters::azure {

// The service version every request names (x-ms-version) and every SAS signs
// (sv): pinned, so that the service's behaviour cannot change under the node.
inline constexpr char kAzureStorageVersion[] = "2021-08-06";

struct AzureSharedKey {
  std::string account;
  std::string key;  // the account key's raw bytes (decoded from base64)
};

// `account_key_base64` decoded; InvalidArgument if it is empty or not base64.
absl::StatusOr<AzureSharedKey> MakeSharedKey(absl::string_view account,
                                             absl::string_view account_key_base64);

// The string the signature covers, for tests and for diagnosing a refusal.
// InvalidArgument if the request's URL cannot be parsed.
absl::StatusOr<std::string> SharedKeyStringToSign(const cloud::HttpRequest& request,
                                                  absl::string_view account);

// Sets x-ms-date (to `now`), x-ms-version (kAzureStorageVersion, unless the
// request names one) and Authorization on `request`, replacing any earlier
// ones. InvalidArgument if the request's URL cannot be parsed.
absl::Status SignWithSharedKey(cloud::HttpRequest& request, const AzureSharedKey& key,
                               absl::Time now);

// The Batch service's string to sign (for tests and diagnosing a refusal);
// InvalidArgument if the request's URL cannot be parsed.
absl::StatusOr<std::string> BatchSharedKeyStringToSign(const cloud::HttpRequest& request,
                                                       absl::string_view account);

// Sets ocp-date (to `now`) and Authorization on a Batch service request,
// replacing any earlier ones; the caller sets api-version and Content-Type.
// InvalidArgument if the request's URL cannot be parsed.
absl::Status SignBatchRequest(cloud::HttpRequest& request, const AzureSharedKey& key,
                              absl::Time now);

// "Sun, 11 Oct 2009 21:49:13 GMT" (RFC 1123, as x-ms-date wants).
std::string HttpDate(absl::Time time);

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_SHARED_KEY_H_
