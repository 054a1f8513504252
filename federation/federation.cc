#include "federation/federation.h"

#include <algorithm>
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

absl::StatusOr<trenode::v1::SearchFederationResponse> Federation::Search(
    const trenode::v1::SearchFederationRequest& request, const LocalSearch& here,
    absl::Duration deadline) {
  if (request.per_node() < 0 || request.per_node() > 100) {
    return absl::InvalidArgumentError("per_node: 1 to 100, or 0 for 20");
  }
  trenode::v1::SearchDatasetsRequest ask;
  ask.set_query(request.query());
  ask.set_page_size(request.per_node() > 0 ? request.per_node() : 20);
  std::vector<trenode::v1::Partner> partners = partners_->All();
  struct Answer {
    absl::StatusOr<trenode::v1::SearchDatasetsResponse> hits = absl::UnknownError("not asked");
    absl::Duration took;
  };
  std::vector<Answer> answers(partners.size() + 1);
  absl::Duration each = std::min(deadline, absl::Seconds(5));
  std::vector<std::thread> askers;
  for (size_t i = 0; i < partners.size(); ++i) {
    askers.emplace_back([&, i] {
      absl::Time start = absl::Now();
      answers[i + 1].hits = caller_->SearchDatasets(partners[i], ask, each);
      answers[i + 1].took = absl::Now() - start;
    });
  }
  absl::Time start = absl::Now();
  answers[0].hits = here(ask);
  answers[0].took = absl::Now() - start;
  for (std::thread& asker : askers) asker.join();
  // A query this node refuses (bad words) is the caller's to fix.
  if (!answers[0].hits.ok()) return answers[0].hits.status();

  trenode::v1::SearchFederationResponse response;
  std::vector<std::string> node_ids = {self_.node_id()};
  for (const auto& partner : partners) node_ids.push_back(partner.node_id());
  size_t deepest = 0;
  for (size_t n = 0; n < answers.size(); ++n) {
    auto* status = response.add_nodes();
    status->set_node_id(node_ids[n]);
    status->set_latency_ms(absl::ToInt64Milliseconds(answers[n].took));
    if (answers[n].hits.ok()) {
      status->set_reachability(PartnerStatus::REACHABILITY_ANSWERED);
      status->set_hits(answers[n].hits->hits_size());
      deepest = std::max(deepest, static_cast<size_t>(answers[n].hits->hits_size()));
    } else {
      PartnerStatus seen = StatusOfPartner(n == 0 ? trenode::v1::Partner() : partners[n - 1],
                                           answers[n].hits.status(), answers[n].took);
      status->set_reachability(seen.reachability());
      status->set_detail(seen.detail());
    }
  }
  // Node ids are sorted (this node first, then partners by id): rank by rank.
  std::vector<size_t> order(answers.size());
  for (size_t n = 0; n < order.size(); ++n) order[n] = n;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return node_ids[a] < node_ids[b]; });
  const size_t per_node = static_cast<size_t>(ask.page_size());
  for (size_t rank = 0; rank < std::min(deepest, per_node); ++rank) {
    for (size_t n : order) {
      if (!answers[n].hits.ok() || rank >= static_cast<size_t>(answers[n].hits->hits_size())) {
        continue;
      }
      auto* hit = response.add_hits();
      hit->set_node_id(node_ids[n]);
      *hit->mutable_dataset() = answers[n].hits->hits(static_cast<int>(rank)).dataset();
      hit->set_rank(static_cast<int32_t>(rank + 1));
    }
  }
  return response;
}

}  // namespace trenode::federation
