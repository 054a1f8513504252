// For tests of code around PartnerCaller: every call Unimplemented, so that
// a fake overrides only the calls its tests make.
#ifndef TRENODE_FEDERATION_UNIMPLEMENTED_PARTNER_CALLER_H_
#define TRENODE_FEDERATION_UNIMPLEMENTED_PARTNER_CALLER_H_

#include "federation/partner_caller.h"

namespace trenode::federation {

class UnimplementedPartnerCaller : public PartnerCaller {
 public:
  absl::StatusOr<trenode::v1::NodeInfo> GetNodeInfo(const trenode::v1::Partner&,
                                                    absl::Duration) override {
    return Unimplemented();
  }
  absl::StatusOr<trenode::v1::Contribution> SubmitContribution(
      const trenode::v1::Partner&, const trenode::v1::SubmitContributionRequest&,
      absl::Duration) override {
    return Unimplemented();
  }
  absl::StatusOr<trenode::v1::Contribution> GetContribution(const trenode::v1::Partner&,
                                                            const trenode::v1::ContributionRef&,
                                                            absl::Duration) override {
    return Unimplemented();
  }
  absl::StatusOr<trenode::v1::Contribution> CancelContribution(const trenode::v1::Partner&,
                                                               const trenode::v1::ContributionRef&,
                                                               absl::Duration) override {
    return Unimplemented();
  }
  absl::StatusOr<trenode::v1::Checkpoint> GetCheckpoint(const trenode::v1::Partner&,
                                                        absl::Duration) override {
    return Unimplemented();
  }
  absl::StatusOr<trenode::v1::ConsistencyProof> GetConsistencyProof(
      const trenode::v1::Partner&, const trenode::v1::GetConsistencyProofRequest&,
      absl::Duration) override {
    return Unimplemented();
  }
  absl::StatusOr<trenode::v1::AddCosignatureResponse> AddCosignature(
      const trenode::v1::Partner&, const trenode::v1::AddCosignatureRequest&,
      absl::Duration) override {
    return Unimplemented();
  }
  absl::StatusOr<trenode::v1::Cosignatures> GetCosignatures(const trenode::v1::Partner&,
                                                            absl::Duration) override {
    return Unimplemented();
  }
  absl::StatusOr<trenode::v1::SearchDatasetsResponse> SearchDatasets(
      const trenode::v1::Partner&, const trenode::v1::SearchDatasetsRequest&,
      absl::Duration) override {
    return Unimplemented();
  }

 private:
  static absl::Status Unimplemented() { return absl::UnimplementedError("not in these tests"); }
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_UNIMPLEMENTED_PARTNER_CALLER_H_
