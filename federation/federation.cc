#include "federation/federation.h"

#include <thread>

#include "absl/time/clock.h"

namespace trenode::federation {

using trenode::v1::PartnerStatus;

Federation::Federation(trenode::v1::NodeInfo self, ThemeSource themes,
                       const PartnerDirectory* partners, PartnerCaller* caller,
                       absl::Duration themes_ttl)
    : self_(std::move(self)),
      themes_(std::move(themes)),
      partners_(partners),
      caller_(caller),
      themes_ttl_(themes_ttl) {}

absl::StatusOr<trenode::v1::NodeInfo> Federation::GetNodeInfo() {
  trenode::v1::NodeInfo info = self_;
  absl::MutexLock lock(&mutex_);
  if (absl::Now() - themes_at_ >= themes_ttl_) {
    absl::StatusOr<std::vector<std::string>> themes = themes_();
    if (!themes.ok()) return themes.status();
    themes_cache_ = *std::move(themes);
    themes_at_ = absl::Now();
  }
  for (const std::string& theme : themes_cache_) info.add_dataset_themes(theme);
  return info;
}

PartnerStatus StatusOfPartner(const trenode::v1::Partner& partner,
                              const absl::StatusOr<trenode::v1::NodeInfo>& answer,
                              absl::Duration took) {
  PartnerStatus status;
  status.set_node_id(partner.node_id());
  status.set_address(partner.address());
  status.set_latency_ms(absl::ToInt64Milliseconds(took));
  if (answer.ok()) {
    status.set_reachability(PartnerStatus::REACHABILITY_ANSWERED);
    *status.mutable_info() = *answer;
    return status;
  }
  status.set_detail(std::string(answer.status().message()));
  switch (answer.status().code()) {
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      status.set_reachability(PartnerStatus::REACHABILITY_REFUSED);
      break;
    case absl::StatusCode::kFailedPrecondition:
      status.set_reachability(PartnerStatus::REACHABILITY_WRONG_IDENTITY);
      break;
    default:
      status.set_reachability(PartnerStatus::REACHABILITY_UNREACHABLE);
      break;
  }
  return status;
}

trenode::v1::ListPartnersResponse Federation::ListPartners(absl::Duration deadline) {
  std::vector<trenode::v1::Partner> partners = partners_->All();
  std::vector<PartnerStatus> statuses(partners.size());
  absl::Duration each = std::min(deadline, absl::Seconds(5));
  std::vector<std::thread> askers;
  askers.reserve(partners.size());
  for (size_t i = 0; i < partners.size(); ++i) {
    askers.emplace_back([&, i] {
      absl::Time start = absl::Now();
      absl::StatusOr<trenode::v1::NodeInfo> answer = caller_->GetNodeInfo(partners[i], each);
      statuses[i] = StatusOfPartner(partners[i], answer, absl::Now() - start);
    });
  }
  for (std::thread& asker : askers) asker.join();
  trenode::v1::ListPartnersResponse response;
  for (PartnerStatus& status : statuses) *response.add_partners() = std::move(status);
  return response;
}

}  // namespace trenode::federation
