#include "node/auth/authorization.h"

#include "absl/strings/str_cat.h"
#include "node/auth/roles.h"

namespace trenode::auth {
namespace {
using trenode::v1::Role;

const std::set<Role> kStewards = {trenode::v1::ROLE_DATA_STEWARD};
const std::set<Role> kEveryRole = {trenode::v1::ROLE_RESEARCHER,     trenode::v1::ROLE_DATA_STEWARD,
                                   trenode::v1::ROLE_OUTPUT_CHECKER, trenode::v1::ROLE_AUDITOR,
                                   trenode::v1::ROLE_NODE_ADMIN,     trenode::v1::ROLE_PEER_NODE};
}  // namespace

const std::map<std::string, std::set<Role>, std::less<>>& AuthorizationTable() {
  static const auto* table = new std::map<std::string, std::set<Role>, std::less<>>{
      {"/trenode.v1.Catalogue/RegisterDataset", kStewards},
      {"/trenode.v1.Catalogue/ImportDataset", kStewards},
      {"/trenode.v1.Catalogue/UpdateDataset", kStewards},
      {"/trenode.v1.Catalogue/RetireDataset", kStewards},
      {"/trenode.v1.Catalogue/GetDataset", kEveryRole},
      {"/trenode.v1.Catalogue/ListDatasets", kEveryRole},
      {"/trenode.v1.Catalogue/SearchDatasets", kEveryRole},
  };
  return *table;
}

absl::Status Authorize(const Principal& caller, absl::string_view full_method) {
  if (caller.role == trenode::v1::ROLE_UNSPECIFIED) {
    return absl::UnauthenticatedError("the caller is not authenticated");
  }
  const auto& table = AuthorizationTable();
  auto entry = table.find(full_method);
  if (entry == table.end() || !entry->second.contains(caller.role)) {
    return absl::PermissionDeniedError(
        absl::StrCat("role ", RoleName(caller.role), " may not call ", full_method));
  }
  return absl::OkStatus();
}

}  // namespace trenode::auth
