// Role names as people type them ("data_steward") and as the proto spells them.
#ifndef TRENODE_NODE_AUTH_ROLES_H_
#define TRENODE_NODE_AUTH_ROLES_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "trenode/v1/roles.pb.h"

namespace trenode::auth {

// "researcher", "data_steward", ...; "unspecified" for ROLE_UNSPECIFIED.
std::string RoleName(trenode::v1::Role role);
// Accepts the short name or the proto name (ROLE_DATA_STEWARD), any case.
std::optional<trenode::v1::Role> RoleFromName(absl::string_view name);

}  // namespace trenode::auth

#endif  // TRENODE_NODE_AUTH_ROLES_H_
