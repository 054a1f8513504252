// An auditor's check of one node's log as relayed by any node
// (Federation.GetFederationLogs): nothing relayed is trusted but the
// signatures, checked against keys the auditor holds or has checked.
//
// A node's witness key is bound to its log key by a note the log key signs
// (WitnessKeyNote). AuditNodeLog then requires the node's current
// checkpoint to verify with its log key, and counts a cosignature only if
// it is by another node whose witness key was so checked, carries the
// node's own signature, is recent, and is a prefix of the current checkpoint
// (same root at the same size, or a consistency proof).
#ifndef TRENODE_NODE_LOG_LOG_AUDIT_H_
#define TRENODE_NODE_LOG_LOG_AUDIT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/log/signed_note.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::log {

// "trenode-witness-key/v1\n<node_id>\n<witness verifier key>\n", signed by
// `log_key`.
absl::StatusOr<std::string> WitnessKeyNote(const NoteSigner& log_key, const std::string& node_id,
                                           const std::string& witness_key);
// The witness key `note` binds to `node_id`, if it verifies with
// `log_key` (a verifier key); FailedPrecondition or InvalidArgument if not.
absl::StatusOr<std::string> WitnessKeyFrom(const std::string& note, const std::string& log_key,
                                           const std::string& node_id);

struct AuditPolicy {
  absl::Time now;
  // Cosignatures older than this, or dated ahead of `now` by more than 10
  // minutes, are not counted.
  absl::Duration max_age = absl::Hours(1);
  // Distinct other nodes that must have cosigned.
  int quorum = 1;
};

struct LogAudit {
  std::string node_id;
  uint64_t size = 0;
  std::string root;                      // base64, once the checkpoint verified
  std::vector<std::string> cosigned_by;  // "<witness>@<size>", each counted
  std::vector<std::string> ignored;      // cosignatures not counted, and why
  std::vector<std::string> problems;     // empty: the log checks out
};

// `witness_keys`: node id -> witness key, each checked with WitnessKeyFrom
// against a log key the auditor holds for that node. `pinned_log_key`: if
// not empty, the log key the auditor holds for this node.
LogAudit AuditNodeLog(const trenode::v1::NodeLog& log,
                      const std::map<std::string, std::string>& witness_keys,
                      const std::string& pinned_log_key, const AuditPolicy& policy);

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_LOG_AUDIT_H_
