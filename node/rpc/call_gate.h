// CallGate: the first step of every handler. Authenticates the caller and
// applies the node's authorization table for the method being called, so a
// handler cannot reach the domain without both. Every decision is logged.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_CALL_GATE_H_
#define TRENODE_NODE_RPC_CALL_GATE_H_

#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/server_context.h"
#include "node/auth/principal.h"
#include "node/log/event_sink.h"
#include "node/rpc/authenticator.h"
#include "node/rpc/partner_rate.h"
#include "node/rpc/stream_limiter.h"

namespace trenode::rpc {

class CallGate {
 public:
  // `authenticator` and `events` (if given) must outlive the gate. Every
  // refusal of an authenticated caller is recorded in `events`, and every
  // admitted call except the read-only queries listed in
  // spec/activity-log.md; calls refused because no identity could be
  // established are counted per source and recorded as summaries
  // (FlushRefusals), so that anyone on the network cannot grow the log by
  // one durable entry per call.
  // Streams: at most `streams_per_caller` held by one caller and
  // `streams_total` by all (below the server's thread pool).
  // Partner nodes: each partner's calls are limited by `partner_rate`
  // (every call, admitted or not), and everything refused to a partner is
  // counted and summarised per partner as for anonymous callers, so that a
  // listed partner cannot grow the log by one durable entry per call either.
  explicit CallGate(Authenticator* authenticator, log::EventSink* events = nullptr,
                    absl::Duration summary_interval = absl::Minutes(1), int streams_per_caller = 4,
                    int streams_total = 32)
      : authenticator_(authenticator),
        events_(events),
        summary_interval_(summary_interval),
        streams_(streams_per_caller, streams_total) {}

  // Checks a request after the caller is authorized and before the
  // admission is logged: an error refuses the call as the gate's own
  // refusals are (so a malformed request is never logged as allowed).
  using RequestCheck = std::function<absl::Status(const auth::Principal& caller)>;

  // The authenticated caller of `context`, if authorized to call
  // `full_method` ("/trenode.v1.Catalogue/GetDataset") and `check` (if any)
  // passes; Unauthenticated, PermissionDenied, ResourceExhausted (a partner
  // over its rate) or `check`'s error otherwise. A method missing from the
  // authorization table is denied, so a misnamed method fails closed.
  absl::StatusOr<auth::Principal> Admit(const grpc::ServerContext& context,
                                        absl::string_view full_method,
                                        const RequestCheck& check = nullptr);

  // As Admit, for a caller already authenticated another way: a partner
  // whose calls arrive down the stream it opened (Federation.Attend).
  absl::StatusOr<auth::Principal> AdmitPrincipal(const auth::Principal& caller,
                                                 absl::string_view full_method,
                                                 const RequestCheck& check = nullptr);

  // Records a refusal decided after Admit by the domain, of a caller that
  // may call often (a partner's malformed cosignature): a partner's is
  // counted into its refusal summary, anyone else's recorded as Refuse
  // does. Returns `why` (or Unavailable as Refuse).
  absl::Status RefuseCounted(const auth::Principal& caller, absl::string_view full_method,
                             absl::Status why);

  // The partners' call rate (re-read with the partner list).
  void SetPartnerRate(double calls_per_second, double burst) {
    partner_rate_.Set(calls_per_second, burst);
  }

  // Admit for a streaming method: also a stream slot, held until the
  // returned value is destroyed; ResourceExhausted if the caller, or all
  // callers together, hold as many streams as allowed (counted into the
  // refusal summaries, not one log entry each).
  struct AdmittedStream {
    auth::Principal principal;
    StreamLimiter::Slot slot;
  };
  absl::StatusOr<AdmittedStream> AdmitStream(const grpc::ServerContext& context,
                                             absl::string_view full_method);

  // Records a refusal decided after Admit (a researcher asking for events
  // of no project, or of one not theirs) as auth.deny, and returns `why`
  // (or Unavailable if the log cannot record it).
  absl::Status Refuse(const auth::Principal& caller, absl::string_view full_method,
                      absl::Status why);

  // Records one auth.deny.summary event per source of the refusals counted
  // since the last summary, if `summary_interval` has passed (or `now_all`).
  // Call it periodically and at shutdown.
  absl::Status FlushRefusals(bool now_all = false);

 private:
  // Refusals of one source since the last summary, by reason.
  struct Tally {
    int64_t calls = 0;
    std::map<std::string, int64_t> reasons;  // at most kMaxReasonsPerSource
  };
  void CountRefusal(const std::string& source, absl::string_view reason);

  Authenticator* authenticator_;
  log::EventSink* events_;
  absl::Duration summary_interval_;
  absl::Mutex mu_;
  std::map<std::string, Tally> refusals_ ABSL_GUARDED_BY(mu_);
  absl::Time last_summary_ ABSL_GUARDED_BY(mu_) = absl::Now();
  StreamLimiter streams_;
  PartnerRate partner_rate_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_CALL_GATE_H_
