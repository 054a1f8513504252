// Witness: this node's watch over its partners' activity logs. For each
// partner in turn it fetches the log key (pinned at first sight) and the
// current signed checkpoint, checks the signature, and checks that the
// checkpoint extends the largest one it verified before (same root at the
// same size; a consistency proof from the earlier size). If so it keeps the
// new checkpoint and gives the partner its C2SP tlog-cosignature; if not it
// raises an alarm, kept with both signed checkpoints as evidence and
// recorded in this node's activity log, and cosigns nothing more of that log
// until it is consistent again with what was verified. A partner that
// answers with a larger signed checkpoint but refuses its consistency proof
// raises an alarm; one that does not answer for the proof in five checks
// since a larger checkpoint was last proven does too (counted in the store,
// so a restart of this node does not reset the count).
//
// Thread-safety: CheckAll and Check may be called from any thread; Start
// runs them every interval on a thread of its own until Stop.
#ifndef TRENODE_FEDERATION_WITNESS_H_
#define TRENODE_FEDERATION_WITNESS_H_

#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "federation/partner_caller.h"
#include "federation/partner_directory.h"
#include "federation/witness_store.h"
#include "node/log/event_sink.h"
#include "node/log/signed_note.h"

namespace trenode::federation {

class Witness {
 public:
  using Clock = std::function<absl::Time()>;
  // `cosigner` is a cosigning key (type 0x04).
  Witness(std::string node_id, log::NoteSigner cosigner, PartnerDirectory* partners,
          PartnerCaller* caller, WitnessStore* store, log::EventSink* events, Clock clock);
  ~Witness();

  // Checks `partner` once. OK: its checkpoint was verified and cosigned (or
  // was the one already cosigned). FailedPrecondition: an alarm was raised
  // (the message says why). Other errors: the check could not be made (the
  // partner did not answer, or refused the cosignature); kept as the
  // partner's last_error.
  absl::Status Check(const trenode::v1::Partner& partner);
  // Checks every partner, one after another.
  void CheckAll();

  void Start(absl::Duration interval);
  void Stop();
  // From now on, check every `interval`; and check every partner now
  // (partners were added or readdressed).
  void Reschedule(absl::Duration interval);

  // What GetWitnessStatus reports.
  absl::StatusOr<trenode::v1::WitnessStatus> Status();

 private:
  absl::Status CheckLocked(const trenode::v1::Partner& partner);
  // Keeps and logs an alarm of `kind` about `node_id` (once per kind in a
  // row, until a check succeeds) and returns it as FailedPrecondition.
  absl::Status Alarm(const std::string& node_id, const std::string& kind,
                     const std::string& detail, const std::string& earlier,
                     const std::string& later);
  // Notes why the last check of `node_id` did not finish; returns `why`.
  absl::Status Unfinished(const std::string& node_id, absl::Status why);

  const std::string node_id_;
  const log::NoteSigner cosigner_;
  PartnerDirectory* partners_;
  PartnerCaller* caller_;
  WitnessStore* store_;
  log::EventSink* events_;
  Clock clock_;

  absl::Mutex mu_;  // one check at a time
  absl::Notification stop_;
  absl::Mutex schedule_mu_;
  absl::Duration interval_ ABSL_GUARDED_BY(schedule_mu_);
  bool wake_ ABSL_GUARDED_BY(schedule_mu_) = false;
  std::thread thread_;
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_WITNESS_H_
