#include "adapters/cloud/retry.h"

#include <algorithm>
#include <random>

#include "absl/time/clock.h"

namespace trenode::adapters::cloud {

bool IsRetryableStatus(int http_status) {
  return http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599);
}

absl::Duration RetryDelay(const RetryPolicy& policy, int attempt) {
  absl::Duration ceiling = policy.first_delay;
  for (int i = 1; i < attempt && ceiling < policy.max_delay; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.max_delay);
  thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_int_distribution<int64_t> pick(0, absl::ToInt64Microseconds(ceiling));
  return absl::Microseconds(pick(random));
}

absl::StatusOr<HttpResponse> SendWithRetries(
    HttpClient& client, const RetryPolicy& policy,
    const std::function<absl::StatusOr<HttpRequest>()>& make_request) {
  absl::StatusOr<HttpResponse> last = absl::InternalError("no attempt was made");
  for (int attempt = 1; attempt <= std::max(1, policy.max_attempts); ++attempt) {
    if (attempt > 1) absl::SleepFor(RetryDelay(policy, attempt - 1));
    absl::StatusOr<HttpRequest> request = make_request();
    if (!request.ok()) return request.status();
    last = client.Send(*request);
    if (last.ok() && !IsRetryableStatus(last->status)) return last;
    if (!last.ok() && last.status().code() != absl::StatusCode::kUnavailable) return last;
  }
  return last;
}

}  // namespace trenode::adapters::cloud
