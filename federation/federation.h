// Federation: what this node tells partners about itself, and what it knows
// of its partners. Knows nothing of gRPC: partners are reached through a
// PartnerCaller. Thread-safe.
#ifndef TRENODE_FEDERATION_FEDERATION_H_
#define TRENODE_FEDERATION_FEDERATION_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "federation/partner_caller.h"
#include "federation/partner_directory.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::federation {

// The interface this node serves; interface_revision counts additions.
inline constexpr char kInterfaceVersion[] = "trenode.v1";
inline constexpr int kInterfaceRevision = 1;

class Federation {
 public:
  // The distinct themes of the node's active datasets, sorted.
  using ThemeSource = std::function<absl::StatusOr<std::vector<std::string>>()>;

  // `self` is this node's NodeInfo without dataset_themes, which come from
  // `themes` (asked at most every `themes_ttl`). `partners` and `caller`
  // must outlive this object.
  Federation(trenode::v1::NodeInfo self, ThemeSource themes, const PartnerDirectory* partners,
             PartnerCaller* caller, absl::Duration themes_ttl = absl::Seconds(30));

  absl::StatusOr<trenode::v1::NodeInfo> GetNodeInfo();

  // Every partner asked for its NodeInfo in parallel, each within
  // min(`deadline`, 5 s); never fails because a partner did.
  trenode::v1::ListPartnersResponse ListPartners(absl::Duration deadline);

  // This node's catalogue searched by `here` (as the caller), every partner's
  // through the PartnerCaller, in parallel, each within min(`deadline`,
  // 5 s); merged by rank. InvalidArgument for per_node out of range, or
  // what `here` says of a bad query; never fails because a partner did.
  using LocalSearch = std::function<absl::StatusOr<trenode::v1::SearchDatasetsResponse>(
      const trenode::v1::SearchDatasetsRequest&)>;
  absl::StatusOr<trenode::v1::SearchFederationResponse> Search(
      const trenode::v1::SearchFederationRequest& request, const LocalSearch& here,
      absl::Duration deadline);

 private:
  trenode::v1::NodeInfo self_;
  ThemeSource themes_;
  const PartnerDirectory* partners_;
  PartnerCaller* caller_;
  absl::Duration themes_ttl_;
  absl::Mutex mutex_;
  std::vector<std::string> themes_cache_ ABSL_GUARDED_BY(mutex_);
  absl::Time themes_at_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

// A PartnerStatus for `partner` from what the caller returned.
trenode::v1::PartnerStatus StatusOfPartner(const trenode::v1::Partner& partner,
                                           const absl::StatusOr<trenode::v1::NodeInfo>& answer,
                                           absl::Duration took);

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_FEDERATION_H_
