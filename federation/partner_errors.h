// What a partner is told when this node cannot answer its call. A node's
// refusals (no such project here, not a member, a malformed request) are
// written by this node for the caller and cross as they are; a fault (a
// storage or database error, a bug) carries text written for this node's
// staff — file paths, SQL, a cloud's request ids — so it crosses as a fixed
// phrase with its code kept, and the detail stays in this node's stderr.
// Thread-safe.
#ifndef TRENODE_FEDERATION_PARTNER_ERRORS_H_
#define TRENODE_FEDERATION_PARTNER_ERRORS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trenode::federation {

// `status` as partner `partner` may see it, answering `method`. OK, and,
// unless marked a fault (node/common/fault.h: SQLite's errors are), the
// refusal codes (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
// PERMISSION_DENIED, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, OUT_OF_RANGE,
// CANCELLED, DEADLINE_EXCEEDED, UNAUTHENTICATED, UNIMPLEMENTED), are kept
// whole; UNAVAILABLE keeps its code (the partner may retry) with a fixed
// message; every other code becomes INTERNAL with a fixed message. A
// replaced message is written to stderr with the partner and method.
absl::Status ForPartner(absl::Status status, absl::string_view partner, absl::string_view method);

// Whether `status` is a fault of this node (a code ForPartner replaces)
// rather than a refusal of the partner's request: a fault is not counted
// against the partner.
bool IsFault(const absl::Status& status);

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_PARTNER_ERRORS_H_
