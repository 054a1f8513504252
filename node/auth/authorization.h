// The node's one authorization decision for every RPC: which roles may call
// which method. Deny by default: a method without an entry is refused to
// everyone. spec/README.md ("Authorization") publishes this table; the
// authorization test checks every service method against it.
#ifndef TRENODE_NODE_AUTH_AUTHORIZATION_H_
#define TRENODE_NODE_AUTH_AUTHORIZATION_H_

#include <map>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "node/auth/principal.h"

namespace trenode::auth {

// Full gRPC method name ("/trenode.v1.Catalogue/GetDataset") -> roles allowed.
const std::map<std::string, std::set<trenode::v1::Role>, std::less<>>& AuthorizationTable();

// OK if `caller` may call `full_method`. Unauthenticated for a caller with no
// role; PermissionDenied naming the role and method otherwise.
absl::Status Authorize(const Principal& caller, absl::string_view full_method);

}  // namespace trenode::auth

#endif  // TRENODE_NODE_AUTH_AUTHORIZATION_H_
