// A mark on a status that says "a fault of this node, not a refusal of the
// request", whatever its code: SQLite's errors carry it (a constraint
// failure is FAILED_PRECONDITION, a statement that does not compile
// INVALID_ARGUMENT, and both carry SQL and table names written for this
// node's staff). The mark travels with the status through RETURN_IF_ERROR
// and ASSIGN_OR_RETURN; a status rebuilt with new text does not keep it.
#ifndef TRENODE_NODE_COMMON_FAULT_H_
#define TRENODE_NODE_COMMON_FAULT_H_

#include "absl/status/status.h"

namespace trenode {

// `status` marked as a fault of this node (OK stays OK, unmarked).
absl::Status MarkedFault(absl::Status status);

// Whether `status` carries MarkedFault's mark.
bool IsMarkedFault(const absl::Status& status);

}  // namespace trenode

#endif  // TRENODE_NODE_COMMON_FAULT_H_
