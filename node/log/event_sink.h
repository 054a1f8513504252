// EventSink: where the domain and the authorization gate report what
// happened. The node's only implementation is the ActivityLog, so every event
// takes the log's append path; it fills in the node, and the actor and role
// from the authenticated principal (never from a request).
#ifndef TRENODE_NODE_LOG_EVENT_SINK_H_
#define TRENODE_NODE_LOG_EVENT_SINK_H_

#include "absl/status/status.h"
#include "node/auth/principal.h"
#include "node/log/activity_event.h"

namespace trenode::log {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Durably records `event` on behalf of `actor`. Unavailable if it could not.
  virtual absl::Status Record(const auth::Principal& actor, ActivityEvent event) = 0;
};

// Records a domain change that already happened; a failure to record is
// reported as Internal so the caller knows the change stands unlogged.
absl::Status RecordChange(EventSink* sink, const auth::Principal& actor, std::string action,
                          std::string object, std::string project = "", std::string reason = "");

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_EVENT_SINK_H_
