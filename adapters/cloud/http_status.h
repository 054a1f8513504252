// What an HTTP error status from a cloud service means to the caller, as an
// absl::StatusCode: one table for the adapters that have no finer reading.
#ifndef TRENODE_ADAPTERS_CLOUD_HTTP_STATUS_H_
#define TRENODE_ADAPTERS_CLOUD_HTTP_STATUS_H_

#include <string>

#include "absl/status/status.h"

namespace trenode::adapters::cloud {

// A Status with `message` and the code for `http_status`: Unavailable for
// what IsRetryableStatus retries (it stayed busy), InvalidArgument for 400,
// PermissionDenied for 401 and 403, NotFound for 404, FailedPrecondition for
// 409 and 412, OutOfRange for 416, Unknown otherwise.
absl::Status StatusForHttpError(int http_status, const std::string& message);

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_HTTP_STATUS_H_
