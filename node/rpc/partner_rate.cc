#include "node/rpc/partner_rate.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace trenode::rpc {

PartnerRate::PartnerRate(double calls_per_second, double burst, std::function<absl::Time()> clock)
    : clock_(std::move(clock)) {
  Set(calls_per_second, burst);
}

void PartnerRate::Set(double calls_per_second, double burst) {
  absl::MutexLock lock(&mu_);
  rate_ = calls_per_second > 0 ? calls_per_second : kDefaultCallsPerSecond;
  burst_ = burst > 0 ? std::max(burst, 1.0) : std::max(kDefaultBurst, rate_);
  for (auto& [partner, bucket] : buckets_) bucket.tokens = std::min(bucket.tokens, burst_);
}

absl::Status PartnerRate::Take(const std::string& partner) {
  absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto [it, added] = buckets_.try_emplace(partner, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!added && now > bucket.filled) {
    bucket.tokens =
        std::min(burst_, bucket.tokens + absl::ToDoubleSeconds(now - bucket.filled) * rate_);
    bucket.filled = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return absl::OkStatus();
  }
  int64_t retry_ms =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - bucket.tokens) / rate_ * 1000)));
  return absl::ResourceExhaustedError(absl::StrCat("node ", partner, " has made more than its ",
                                                   rate_, " calls a second (burst ", burst_,
                                                   ") here; retry in ", retry_ms, " ms"));
}

}  // namespace trenode::rpc
