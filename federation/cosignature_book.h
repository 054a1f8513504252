// CosignatureBook: the cosignatures partners give this node's checkpoints.
// A cosignature is kept only if the checkpoint carries this node's own
// signature, the witness key is named for a cosigner (type 0x04) and is the
// one first seen from that partner (pinned), the cosignature verifies with
// it, it is not dated in the future, and it is for a checkpoint at least as
// large as the one kept from that witness (and, at the same size, newer).
// The latest per witness is kept. The first key pinned for a witness is
// recorded in the activity log; refusals are the caller's to record (the
// RPC layer summarises a partner's refusals, spec/activity-log.md), so that
// a partner sending malformed cosignatures cannot grow the log per call.
// Thread-safe.
#ifndef TRENODE_FEDERATION_COSIGNATURE_BOOK_H_
#define TRENODE_FEDERATION_COSIGNATURE_BOOK_H_

#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "federation/witness_store.h"
#include "node/log/event_sink.h"
#include "node/log/signed_note.h"

namespace trenode::federation {

class CosignatureBook {
 public:
  using Clock = std::function<absl::Time()>;
  CosignatureBook(std::string node_id, log::NoteVerifier own_log, WitnessStore* store,
                  log::EventSink* events, Clock clock)
      : node_id_(std::move(node_id)),
        own_log_(std::move(own_log)),
        store_(store),
        events_(events),
        clock_(std::move(clock)) {}

  // From partner `witness` (as authenticated). InvalidArgument for a
  // malformed request; FailedPrecondition for a checkpoint not signed here,
  // a cosignature that does not verify, a key other than the pinned one, or
  // a checkpoint smaller than the one already cosigned.
  absl::StatusOr<trenode::v1::AddCosignatureResponse> Add(
      const std::string& witness, const trenode::v1::AddCosignatureRequest& request);
  absl::StatusOr<trenode::v1::Cosignatures> All();

 private:
  absl::StatusOr<trenode::v1::AddCosignatureResponse> AddLocked(
      const std::string& witness, const trenode::v1::AddCosignatureRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Record(const std::string& witness, const std::string& outcome,
                      const std::string& reason);

  const std::string node_id_;
  const log::NoteVerifier own_log_;
  WitnessStore* store_;
  log::EventSink* events_;
  Clock clock_;
  absl::Mutex mu_;
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_COSIGNATURE_BOOK_H_
