#include "federation/partner_directory.h"

namespace trenode::federation {

std::map<std::string, trenode::v1::Partner> PartnerDirectory::ById(
    const trenode::v1::FederationConfig& config) {
  std::map<std::string, trenode::v1::Partner> by_id;
  for (const auto& partner : config.partners()) by_id[partner.node_id()] = partner;
  return by_id;
}

PartnerDirectory::PartnerDirectory(const trenode::v1::FederationConfig& config)
    : locked_down_(config.locked_down()) {
  for (auto& [id, partner] : ById(config)) partners_.emplace(id, partner);
}

std::optional<trenode::v1::Partner> PartnerDirectory::Find(absl::string_view node_id) const {
  absl::MutexLock lock(&mutex_);
  auto found = partners_.find(node_id);
  if (found == partners_.end()) return std::nullopt;
  return found->second;
}

std::vector<trenode::v1::Partner> PartnerDirectory::All() const {
  absl::MutexLock lock(&mutex_);
  std::vector<trenode::v1::Partner> all;
  for (const auto& [id, partner] : partners_) all.push_back(partner);
  return all;
}

PartnerDirectory::Change PartnerDirectory::Replace(const trenode::v1::FederationConfig& config) {
  std::map<std::string, trenode::v1::Partner> next = ById(config);
  Change change;
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, partner] : next) {
    auto old = partners_.find(id);
    if (old == partners_.end()) {
      change.added.push_back(id);
    } else if (old->second.address() != partner.address()) {
      change.moved.push_back(id);
    }
  }
  for (const auto& [id, partner] : partners_) {
    if (!next.contains(id)) change.removed.push_back(id);
  }
  partners_.clear();
  for (auto& [id, partner] : next) partners_.emplace(id, std::move(partner));
  return change;
}

}  // namespace trenode::federation
