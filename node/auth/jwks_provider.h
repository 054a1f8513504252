// Where a token verifier gets the issuer's public keys. Implementations
// cache the set and refetch at most once per `min_refresh_interval`, so a
// flood of tokens with unknown key ids cannot flood the issuer; a fetch runs
// without the cache's lock, so verifications with cached keys never wait for
// the network. Thread-safe.
#ifndef TRENODE_NODE_AUTH_JWKS_PROVIDER_H_
#define TRENODE_NODE_AUTH_JWKS_PROVIDER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node/auth/jwk.h"

namespace trenode::auth {

class JwksProvider {
 public:
  virtual ~JwksProvider() = default;
  // The cached key set; with `refresh`, first refetch it unless the last
  // fetch was too recent. Unavailable if no key set was ever obtained.
  virtual absl::StatusOr<std::shared_ptr<const JwkSet>> Keys(bool refresh) = 0;
};

// Caching and rate limiting around a fetch function (file read, HTTPS GET).
class CachingJwksProvider : public JwksProvider {
 public:
  using Fetch = std::function<absl::StatusOr<std::string>()>;
  using Clock = std::function<absl::Time()>;

  CachingJwksProvider(Fetch fetch, absl::Duration min_refresh_interval, Clock clock = &absl::Now)
      : fetch_(std::move(fetch)),
        min_refresh_interval_(min_refresh_interval),
        clock_(std::move(clock)) {}

  absl::StatusOr<std::shared_ptr<const JwkSet>> Keys(bool refresh) override;
  // How many fetches were attempted (for tests of the rate limit).
  int fetches() const;

 private:
  Fetch fetch_;
  absl::Duration min_refresh_interval_;
  Clock clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const JwkSet> keys_ ABSL_GUARDED_BY(mu_);
  absl::Time last_fetch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);
  absl::CondVar fetched_;
};

// Whether `uri` is plain http to this machine: a host of exactly localhost,
// ::1 or an IPv4 address in 127.0.0.0/8 (not "127.evil.example").
bool IsLoopbackHttp(const std::string& uri);

// Reads a JWKS file.
std::unique_ptr<JwksProvider> FileJwksProvider(std::string path, absl::Duration min_refresh);

// Fetches a JWKS over HTTPS with libcurl, trusting `ca_file` (system roots if
// empty). Plain http:// is accepted only for loopback hosts.
std::unique_ptr<JwksProvider> HttpsJwksProvider(std::string uri, std::string ca_file,
                                                absl::Duration min_refresh);

}  // namespace trenode::auth

#endif  // TRENODE_NODE_AUTH_JWKS_PROVIDER_H_
