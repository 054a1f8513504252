// PartnerRate: a token bucket per partner node, so that a listed partner
// calling as fast as TLS allows gets RESOURCE_EXHAUSTED (with a retry hint)
// instead of the node's CPU and, through its refusals and admissions, an
// ever-growing activity log. People and services are not limited here.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_PARTNER_RATE_H_
#define TRENODE_NODE_RPC_PARTNER_RATE_H_

#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace trenode::rpc {

class PartnerRate {
 public:
  // Defaults far above what a home node's federated queries need (the
  // 8-node federation bench makes ~4 calls a query to each partner, a few
  // queries a second) and far below what one client can send.
  static constexpr double kDefaultCallsPerSecond = 200;
  static constexpr double kDefaultBurst = 400;

  // `calls_per_second` and `burst` <= 0 take the defaults.
  explicit PartnerRate(double calls_per_second = 0, double burst = 0,
                       std::function<absl::Time()> clock = &absl::Now);

  // Takes one call from `partner`'s bucket: OK, or ResourceExhausted saying
  // the limit and when one call will be allowed again.
  absl::Status Take(const std::string& partner);

  // Changes the limits (the partner list was re-read); buckets keep what
  // they hold, up to the new burst.
  void Set(double calls_per_second, double burst);

 private:
  struct Bucket {
    double tokens;
    absl::Time filled;
  };
  std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  double rate_ ABSL_GUARDED_BY(mu_);
  double burst_ ABSL_GUARDED_BY(mu_);
  // One per partner that called; partners are a short configured list.
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_PARTNER_RATE_H_
