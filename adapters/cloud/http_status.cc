#include "adapters/cloud/http_status.h"

#include "adapters/cloud/retry.h"

namespace trenode::adapters::cloud {

absl::Status StatusForHttpError(int http_status, const std::string& message) {
  if (IsRetryableStatus(http_status)) return absl::UnavailableError(message);
  switch (http_status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 409:
    case 412:
      return absl::FailedPreconditionError(message);
    case 416:
      return absl::OutOfRangeError(message);
    default:
      return absl::UnknownError(message);
  }
}

}  // namespace trenode::adapters::cloud
