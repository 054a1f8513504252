#include "node/auth/roles.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace trenode::auth {

std::string RoleName(trenode::v1::Role role) {
  std::string name = absl::AsciiStrToLower(trenode::v1::Role_Name(role));
  return name.substr(5);  // "role_"
}

std::optional<trenode::v1::Role> RoleFromName(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  if (!absl::StartsWith(upper, "ROLE_")) upper = "ROLE_" + upper;
  trenode::v1::Role role;
  if (!trenode::v1::Role_Parse(upper, &role) || role == trenode::v1::ROLE_UNSPECIFIED) {
    return std::nullopt;
  }
  return role;
}

}  // namespace trenode::auth
