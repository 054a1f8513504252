// DialOut: a locked-down node's side of Federation.Attend. It dials each
// partner listed at start (mutual TLS, the partner's certificate checked as
// for any call), keeps one stream open to it, reconnecting with backoff
// (0.1 s doubling to 5 s) when it ends, and answers the calls the partner
// sends down it with `serve`, several at a time (at most 16; more are
// refused as busy). A partner removed from the list is not dialled again.
// A partner that does not answer a stream's opening in time, or leaves a
// message written to it untaken too long (it stopped reading, while its
// HTTP/2 stack still answers pings), has the stream ended and dialled
// again (StreamTimeouts).
// Thread-safe; Stop ends every stream and waits for the calls being served.
#ifndef TRENODE_FEDERATION_DIAL_OUT_H_
#define TRENODE_FEDERATION_DIAL_OUT_H_

#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "federation/grpc_partner_caller.h"
#include "federation/partner_directory.h"
#include "grpcpp/client_context.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::federation {

// How long a partner may take over a stream's steps.
struct StreamTimeouts {
  // From dialling to the partner's first answer (its initial metadata).
  absl::Duration open = absl::Seconds(10);
  // For one message this node writes down the stream to be taken.
  absl::Duration write = absl::Seconds(30);
};

class DialOut {
 public:
  using Serve = std::function<trenode::v1::RelayedReply(const std::string& partner_id,
                                                        const trenode::v1::RelayedCall& call)>;
  // All must outlive this object.
  DialOut(PartnerDirectory* partners, GrpcPartnerCaller* channels, Serve serve,
          StreamTimeouts timeouts = {})
      : partners_(partners), channels_(channels), serve_(std::move(serve)), timeouts_(timeouts) {}
  ~DialOut() { Stop(); }

  void Start();
  void Stop();
  // Whether a stream to `partner_id` is open now.
  bool Connected(const std::string& partner_id);
  // Applies from each stream's next step (the configuration was re-read).
  void SetTimeouts(StreamTimeouts timeouts);

 private:
  StreamTimeouts Timeouts();
  void Attend(const std::string& partner_id);
  // One stream's life: until it ends or Stop.
  absl::Status AttendOnce(const trenode::v1::Partner& partner);

  PartnerDirectory* partners_;
  GrpcPartnerCaller* channels_;
  Serve serve_;
  absl::Notification stop_;
  absl::Mutex mu_;
  std::map<std::string, grpc::ClientContext*> open_ ABSL_GUARDED_BY(mu_);
  StreamTimeouts timeouts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_DIAL_OUT_H_
