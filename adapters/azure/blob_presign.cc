#include "adapters/azure/blob_presign.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/azure/sas.h"
#include "adapters/cloud/url.h"
#include "node/common/status_macros.h"

namespace trenode::adapters::azure {

absl::StatusOr<PresignedRequest> PresignBlob(const BlobClient& client, absl::string_view method,
                                             absl::string_view blob_path,
                                             absl::Duration valid_for, absl::Time now) {
  if (method != "GET" && method != "PUT") {
    return absl::InvalidArgumentError(absl::StrCat("cannot presign ", method, " of a blob"));
  }
  if (valid_for <= absl::ZeroDuration() || valid_for > kMaxPresignedLifetime) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a presigned URL must be valid for more than 0 and at most ",
        absl::FormatDuration(kMaxPresignedLifetime), ", not ", absl::FormatDuration(valid_for)));
  }
  if (!client.shared_key()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "presigned URLs need the storage account key; Azure Storage account ",
        client.account_label(), " is configured with a SAS only"));
  }
  const size_t slash = blob_path.find('/');
  if (slash == absl::string_view::npos || slash == 0 || slash + 1 == blob_path.size()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", blob_path, "\" is not container/blob"));
  }
  SasGrant grant;
  if (method == "GET") {
    grant.permissions.read = true;
  } else {
    grant.permissions.create = true;
    grant.permissions.write = true;
  }
  grant.start = now - absl::Minutes(5);
  grant.expiry = now + valid_for;
  // An endpoint on plain http (an emulator) needs the SAS to allow http.
  grant.protocol = absl::StartsWith(client.endpoint(), "https://") ? "https" : "https,http";
  ASSIGN_OR_RETURN(std::string sas, MakeBlobSas(*client.shared_key(), blob_path.substr(0, slash),
                                                blob_path.substr(slash + 1), grant));
  PresignedRequest request;
  request.method = std::string(method);
  request.url = absl::StrCat(client.endpoint(), "/", cloud::PercentEncode(blob_path, true), "?", sas);
  request.headers.push_back({"x-ms-version", kAzureStorageVersion});
  if (method == "PUT") request.headers.push_back({"x-ms-blob-type", "BlockBlob"});
  return request;
}

}  // namespace trenode::adapters::azure
