// One security-relevant fact, and its canonical leaf bytes: the exact bytes
// the Merkle tree hashes (spec/activity-log.md). Any verifier can recompute a
// leaf hash from GetEntries' bytes without trenode's code.
#ifndef TRENODE_NODE_LOG_ACTIVITY_EVENT_H_
#define TRENODE_NODE_LOG_ACTIVITY_EVENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trenode::log {

struct ActivityEvent {
  absl::Time time;      // set by the log when appended
  std::string node;     // the node writing the event
  std::string actor;    // subject@node-id, node id or service name
  std::string role;     // the role acted in
  std::string via;      // the partner node a request came through, if any
  std::string action;   // e.g. "catalogue.dataset.import", "auth.deny"
  std::string object;   // e.g. "dataset/synth-ehr-1", "project/hf-study"
  std::string outcome;  // "allow", "deny", "success", "failure"
  std::string reason;
  std::string request_id;
  std::string project;
  std::vector<std::string> hashes;  // "sha256:<64 hex digits>"

  bool operator==(const ActivityEvent&) const = default;
};

// The canonical leaf: "trenode-activity-event/1" then one "key value" line
// per field in the order above (time as RFC 3339 UTC with microseconds), one
// "hash" line per hash; every line ends in LF; in values, backslash and LF
// are written \\ and \n.
std::string CanonicalLeaf(const ActivityEvent& event);

// The event a canonical leaf encodes; InvalidArgument for anything that is
// not exactly canonical (so one event has one encoding).
absl::StatusOr<ActivityEvent> ParseLeaf(absl::string_view leaf);

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_ACTIVITY_EVENT_H_
