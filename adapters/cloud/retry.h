// Retrying cloud requests: the same request, made afresh (new date, new
// signature) for each attempt, sent again after a jittered, growing delay
// while the service says it is busy or failing, or the connection fails.
// Never after any other 4xx: those are the caller's to fix.
#ifndef TRENODE_ADAPTERS_CLOUD_RETRY_H_
#define TRENODE_ADAPTERS_CLOUD_RETRY_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/cloud/http_client.h"

namespace trenode::adapters::cloud {

struct RetryPolicy {
  int max_attempts = 5;
  absl::Duration first_delay = absl::Milliseconds(100);
  absl::Duration max_delay = absl::Seconds(5);
};

// 500, 502, 503, 504 and 429 (throttling: S3's 503 SlowDown, Azure's 503
// ServerBusy and 500 OperationTimedOut among them).
bool IsRetryableStatus(int http_status);

// Before attempt `attempt` (1 for the first retry): uniform in
// [0, min(max_delay, first_delay * 2^(attempt-1))] ("full jitter").
absl::Duration RetryDelay(const RetryPolicy& policy, int attempt);

// Sends what `make_request` makes until a response whose status is not
// retryable, or attempts run out (then the last response, or the last
// transport error, is returned). An error from `make_request` ends it at once.
absl::StatusOr<HttpResponse> SendWithRetries(
    HttpClient& client, const RetryPolicy& policy,
    const std::function<absl::StatusOr<HttpRequest>()>& make_request);

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_RETRY_H_
