// PartnerCaller: this node's calls to a partner node. The implementation
// (GrpcPartnerCaller) dials over mutual TLS; tests of the code around it use
// a fake. Implementations are thread-safe.
#ifndef TRENODE_FEDERATION_PARTNER_CALLER_H_
#define TRENODE_FEDERATION_PARTNER_CALLER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "trenode/v1/activity_log.pb.h"
#include "trenode/v1/catalogue.pb.h"
#include "trenode/v1/config.pb.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::federation {

class PartnerCaller {
 public:
  virtual ~PartnerCaller() = default;
  // `partner`'s NodeInfo, asked within `deadline`. The error says what
  // happened: PermissionDenied or Unauthenticated, the partner refused this
  // node (its message); FailedPrecondition, whatever answered is not that
  // partner (nothing was sent); Unavailable or DeadlineExceeded, no answer.
  virtual absl::StatusOr<trenode::v1::NodeInfo> GetNodeInfo(const trenode::v1::Partner& partner,
                                                            absl::Duration deadline) = 0;
  // The partner's Federation.SubmitContribution, GetContribution and
  // CancelContribution, with errors as above; other codes are the
  // partner's answer (its refusal, with its reason).
  virtual absl::StatusOr<trenode::v1::Contribution> SubmitContribution(
      const trenode::v1::Partner& partner, const trenode::v1::SubmitContributionRequest& request,
      absl::Duration deadline) = 0;
  virtual absl::StatusOr<trenode::v1::Contribution> GetContribution(
      const trenode::v1::Partner& partner, const trenode::v1::ContributionRef& ref,
      absl::Duration deadline) = 0;
  virtual absl::StatusOr<trenode::v1::Contribution> CancelContribution(
      const trenode::v1::Partner& partner, const trenode::v1::ContributionRef& ref,
      absl::Duration deadline) = 0;
  // The partner's ActivityLog.GetCheckpoint and GetConsistencyProof, and
  // Federation.AddCosignature and GetCosignatures, for witnessing.
  virtual absl::StatusOr<trenode::v1::Checkpoint> GetCheckpoint(
      const trenode::v1::Partner& partner, absl::Duration deadline) = 0;
  virtual absl::StatusOr<trenode::v1::ConsistencyProof> GetConsistencyProof(
      const trenode::v1::Partner& partner, const trenode::v1::GetConsistencyProofRequest& request,
      absl::Duration deadline) = 0;
  virtual absl::StatusOr<trenode::v1::AddCosignatureResponse> AddCosignature(
      const trenode::v1::Partner& partner, const trenode::v1::AddCosignatureRequest& request,
      absl::Duration deadline) = 0;
  virtual absl::StatusOr<trenode::v1::Cosignatures> GetCosignatures(
      const trenode::v1::Partner& partner, absl::Duration deadline) = 0;
  // The partner's Catalogue.SearchDatasets, asked as this node.
  virtual absl::StatusOr<trenode::v1::SearchDatasetsResponse> SearchDatasets(
      const trenode::v1::Partner& partner, const trenode::v1::SearchDatasetsRequest& request,
      absl::Duration deadline) = 0;
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_PARTNER_CALLER_H_
