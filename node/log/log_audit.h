// An auditor's check of one node's log as relayed by any node
// (Federation.GetFederationLogs): nothing relayed is trusted but the
// signatures. The current checkpoint must verify with the node's log key
// (or the key pinned for it); each cosignature must verify with the
// witness key that the witness node itself reports, carry the node's own
// signature, and be a prefix of the current checkpoint (same root at the
// same size, or a consistency proof).
#ifndef TRENODE_NODE_LOG_LOG_AUDIT_H_
#define TRENODE_NODE_LOG_LOG_AUDIT_H_

#include <map>
#include <string>
#include <vector>

#include "trenode/v1/federation.pb.h"

namespace trenode::log {

struct LogAudit {
  std::string node_id;
  uint64_t size = 0;
  std::string root;                      // base64, once the checkpoint verified
  std::vector<std::string> cosigned_by;  // "<witness>@<size>", each verified
  std::vector<std::string> problems;     // empty: the log checks out
};

// `witness_keys`: node id -> the witness key that node reports for itself.
// `pinned_log_key`: if not empty, the log key the auditor holds for it.
LogAudit AuditNodeLog(const trenode::v1::NodeLog& log,
                      const std::map<std::string, std::string>& witness_keys,
                      const std::string& pinned_log_key);

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_LOG_AUDIT_H_
