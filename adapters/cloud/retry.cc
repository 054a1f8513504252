#include "adapters/cloud/retry.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/time/clock.h"

namespace trenode::adapters::cloud {

bool IsRetryableStatus(int http_status) {
  return http_status == 429 || http_status == 500 || http_status == 502 ||
         http_status == 503 || http_status == 504;
}

absl::Duration RetryDelay(const RetryPolicy& policy, int attempt) {
  absl::Duration ceiling = policy.first_delay;
  for (int i = 1; i < attempt && ceiling < policy.max_delay; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.max_delay);
  thread_local absl::BitGen random;
  return ceiling * absl::Uniform(random, 0.0, 1.0);
}

absl::StatusOr<HttpResponse> SendWithRetries(
    HttpClient& client, const RetryPolicy& policy,
    const std::function<absl::StatusOr<HttpRequest>()>& make_request) {
  absl::StatusOr<HttpResponse> response;
  for (int attempt = 0; attempt < std::max(1, policy.max_attempts); ++attempt) {
    if (attempt > 0) absl::SleepFor(RetryDelay(policy, attempt));
    absl::StatusOr<HttpRequest> request = make_request();
    if (!request.ok()) return request.status();
    response = client.Send(*request);
    bool transport_failed = !response.ok() && absl::IsUnavailable(response.status());
    if (!transport_failed && (!response.ok() || !IsRetryableStatus(response->status))) break;
  }
  return response;
}

}  // namespace trenode::adapters::cloud
