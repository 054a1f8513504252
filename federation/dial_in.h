// DialIns: the streams locked-down partners keep open to this node
// (Federation.Attend), and this node's calls to those partners sent down
// them. One stream per partner; a new one replaces the old. A call waits
// for its reply until its deadline; a call to a partner with no stream open
// fails at once with Unavailable, and one whose stream ends fails then.
// A stream closed here (replaced, unlisted, the node stopping) has its
// transport cancelled too, so that a handler blocked writing down it to a
// partner that stopped reading returns. Thread-safe.
#ifndef TRENODE_FEDERATION_DIAL_IN_H_
#define TRENODE_FEDERATION_DIAL_IN_H_

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "federation/partner_directory.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::federation {

class DialIns {
 public:
  // `partners` must outlive this object.
  explicit DialIns(const PartnerDirectory* partners) : partners_(partners) {}

  // One partner's stream, as its handler serves it.
  class Stream {
   public:
    // The next call to send down the stream, waiting up to `wait`, its
    // deadline_ms what is left of its caller's wait; nullopt if none came,
    // or the stream was closed (see open()).
    std::optional<trenode::v1::RelayedCall> Next(absl::Duration wait);
    // A reply read from the stream. Replies to unknown or expired calls are
    // dropped.
    void Deliver(const trenode::v1::RelayedReply& reply);
    bool open();

   private:
    friend class DialIns;
    struct Pending {
      bool done = false;
      trenode::v1::RelayedReply reply;
    };
    absl::Mutex mu_;
    bool open_ ABSL_GUARDED_BY(mu_) = true;
    // Each call with the time its caller stops waiting.
    std::deque<std::pair<trenode::v1::RelayedCall, absl::Time>> outbox_ ABSL_GUARDED_BY(mu_);
    std::map<uint64_t, std::shared_ptr<Pending>> pending_ ABSL_GUARDED_BY(mu_);
    // Held while `cancel_` runs, so that a Close that finds it gone returns
    // only once another Close's call of it has returned: the handler, which
    // closes its stream itself before it returns, never leaves a call of
    // `cancel_` running on what it is about to free (its call's context).
    absl::Mutex cancel_mu_ ABSL_ACQUIRED_AFTER(mu_);
    std::function<void()> cancel_ ABSL_GUARDED_BY(cancel_mu_);
  };

  // OK if `node_id` is listed as a partner that dials in; FailedPrecondition
  // otherwise.
  absl::Status MayOpen(const std::string& node_id) const;
  // Registers `node_id`'s new stream, closing any it had. `cancel` ends the
  // stream's transport (it is called once, when the stream is closed, and
  // must not block). Once a Close of the stream has returned, `cancel` is
  // not running and never runs again: a handler closes its own stream
  // before it returns. FailedPrecondition unless the partner is listed as
  // one that dials in.
  absl::StatusOr<std::shared_ptr<Stream>> Open(const std::string& node_id,
                                               std::function<void()> cancel = {});
  // Ends `stream`: calls waiting on it fail (Unavailable).
  void Close(const std::string& node_id, const std::shared_ptr<Stream>& stream);
  bool IsOpen(const std::string& node_id);
  // Closes every stream (the node is stopping).
  void CloseAll();
  // Closes the streams of nodes no longer listed as partners that dial in
  // (the partner list was re-read).
  void CloseUnlisted();

  // Sends `method` with `request` to `node_id` and waits for its reply
  // within `deadline`. The partner's own error is returned as its status;
  // Unavailable if no stream is open or it ends; DeadlineExceeded if no
  // reply came in time.
  absl::StatusOr<std::string> Call(const std::string& node_id, const std::string& method,
                                   const std::string& request, absl::Duration deadline);

  // How long one call written down a stream may wait for the partner to
  // take it before the stream is ended (federation.stream_write_timeout_
  // seconds; default 30 s). Applies from each stream's next write.
  void SetWriteTimeout(absl::Duration timeout);
  absl::Duration WriteTimeout();

 private:
  const PartnerDirectory* partners_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Duration write_timeout_ ABSL_GUARDED_BY(mu_) = absl::Seconds(30);
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_DIAL_IN_H_
