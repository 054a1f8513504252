// EventSink: where the domain and the authorization gate report what
// happened. The node's only implementation is the ActivityLog, so every event
// takes the log's append path; it fills in the node, and the actor and role
// from the authenticated principal (never from a request). Decisions and
// acts (an allowed call, data read, a file served) are recorded before they
// take effect; changes are recorded with RecordedChange.
#ifndef TRENODE_NODE_LOG_EVENT_SINK_H_
#define TRENODE_NODE_LOG_EVENT_SINK_H_

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "node/auth/principal.h"
#include "node/log/activity_event.h"

namespace trenode::log {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Durably records `event` on behalf of `actor`. Unavailable if it could not.
  virtual absl::Status Record(const auth::Principal& actor, ActivityEvent event) = 0;

  // For changes (RecordedChange): `event` on behalf of `actor`, encoded to be
  // kept in the outbox by the change's own transaction. Empty: this sink
  // keeps no outbox, and the change is recorded with Record after it.
  virtual std::string OutboxRecord(const auth::Principal& /*actor*/, ActivityEvent /*event*/) {
    return "";
  }
  // Durably records an OutboxRecord that outbox row `outbox_id` holds, and
  // deletes the row with it.
  virtual absl::Status AppendFromOutbox(int64_t /*outbox_id*/, const std::string& /*record*/) {
    return absl::UnimplementedError("this event sink keeps no outbox");
  }
};

// The event of a change: outcome "success".
ActivityEvent ChangeEvent(std::string action, std::string object, std::string project = "",
                          std::string reason = "");

// Makes `change` (one store write) and its record one unit. The record is
// written by the change's own SQLite transaction into the outbox
// (storage::OutboxEntry), then appended to the log. A failed change records
// nothing and returns its status. If the append fails, the change stands and
// its record stays in the outbox, appended when the log next opens: Internal
// says so. Stores without SQLite (fakes) are recorded with Record after the
// change. `sink` may be null (nothing is recorded). `made`, if given, is set
// to whether the change was made (true also when only its record failed).
absl::Status RecordedChange(EventSink* sink, const auth::Principal& actor, ActivityEvent event,
                            absl::FunctionRef<absl::Status()> change, bool* made = nullptr);

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_EVENT_SINK_H_
