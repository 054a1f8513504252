// Retrying the cloud services' requests: jittered exponential backoff on the
// answers that mean "try again" (5xx, 429, throttling such as S3's 503
// SlowDown or Azure's 503 ServerBusy) and on transport failures; never on any
// other 4xx, which retrying cannot mend.
//
// Thread-safety: the functions are thread-safe; SendWithRetries blocks the
// calling thread while it waits between attempts.
#ifndef TRENODE_ADAPTERS_CLOUD_RETRY_H_
#define TRENODE_ADAPTERS_CLOUD_RETRY_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/cloud/http_client.h"

namespace trenode::adapters::cloud {

struct RetryPolicy {
  int max_attempts = 5;  // the first attempt included
  absl::Duration first_delay = absl::Milliseconds(100);
  absl::Duration max_delay = absl::Seconds(5);
};

// True for the HTTP statuses worth another attempt: 408, 429 and every 5xx.
bool IsRetryableStatus(int http_status);

// How long to wait before attempt `attempt` + 1 (after `attempt` >= 1 have
// failed): uniformly random in [0, min(max_delay, first_delay * 2^(attempt-1))]
// ("full jitter"), so that many clients throttled at once spread out.
absl::Duration RetryDelay(const RetryPolicy& policy, int attempt);

// Sends the request `make_request` makes (made again for each attempt, so a
// date and signature on it are fresh) until a response that is not retryable,
// or `policy.max_attempts` attempts. Returns the last response, whatever its
// status (the caller decides what a 4xx or a final 5xx means), or the last
// transport error (Unavailable) if no attempt got a response; an error from
// `make_request` is returned at once.
absl::StatusOr<HttpResponse> SendWithRetries(
    HttpClient& client, const RetryPolicy& policy,
    const std::function<absl::StatusOr<HttpRequest>()>& make_request);

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_RETRY_H_
