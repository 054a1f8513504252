// GrpcPartnerCaller: calls partners over mutual TLS. This node presents its
// own certificate; a partner must present one from the pinned federation CA
// that names it: the TLS handshake checks the DNS name <node_id>, and every
// answer is checked to come from a certificate carrying trenode://<node_id>.
// One channel per partner address, kept. Thread-safe.
#ifndef TRENODE_FEDERATION_GRPC_PARTNER_CALLER_H_
#define TRENODE_FEDERATION_GRPC_PARTNER_CALLER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "federation/dial_in.h"
#include "federation/partner_caller.h"
#include "grpcpp/client_context.h"
#include "grpcpp/channel.h"

namespace trenode::federation {

struct ClientTls {
  std::string certificate_pem;  // this node's chain
  std::string private_key_pem;
  std::string federation_ca_pem;
};

class GrpcPartnerCaller : public PartnerCaller {
 public:
  explicit GrpcPartnerCaller(ClientTls tls) : tls_(std::move(tls)) {}
  // Calls to partners that dial in go down their streams in `dial_ins`
  // (which must outlive this caller); without it they fail as Unavailable.
  void RouteDialInsThrough(DialIns* dial_ins) { dial_ins_ = dial_ins; }
  // The mutual-TLS channel to `partner` (kept), and whether the peer of a
  // call on it is `partner` (FailedPrecondition otherwise).
  std::shared_ptr<grpc::Channel> ChannelTo(const trenode::v1::Partner& partner);
  static absl::Status CheckPeer(const grpc::ClientContext& context,
                                const trenode::v1::Partner& partner);
  // Reads the files of the node's TlsConfig; InvalidArgument names the one
  // that cannot be read.
  static absl::StatusOr<std::unique_ptr<GrpcPartnerCaller>> FromFiles(
      const trenode::v1::TlsConfig& tls);

  absl::StatusOr<trenode::v1::NodeInfo> GetNodeInfo(const trenode::v1::Partner& partner,
                                                    absl::Duration deadline) override;
  absl::StatusOr<trenode::v1::Contribution> SubmitContribution(
      const trenode::v1::Partner& partner, const trenode::v1::SubmitContributionRequest& request,
      absl::Duration deadline) override;
  absl::StatusOr<trenode::v1::Contribution> GetContribution(const trenode::v1::Partner& partner,
                                                            const trenode::v1::ContributionRef& ref,
                                                            absl::Duration deadline) override;
  absl::StatusOr<trenode::v1::Contribution> CancelContribution(
      const trenode::v1::Partner& partner, const trenode::v1::ContributionRef& ref,
      absl::Duration deadline) override;
  absl::StatusOr<trenode::v1::Checkpoint> GetCheckpoint(const trenode::v1::Partner& partner,
                                                        absl::Duration deadline) override;
  absl::StatusOr<trenode::v1::ConsistencyProof> GetConsistencyProof(
      const trenode::v1::Partner& partner, const trenode::v1::GetConsistencyProofRequest& request,
      absl::Duration deadline) override;
  absl::StatusOr<trenode::v1::AddCosignatureResponse> AddCosignature(
      const trenode::v1::Partner& partner, const trenode::v1::AddCosignatureRequest& request,
      absl::Duration deadline) override;
  absl::StatusOr<trenode::v1::Cosignatures> GetCosignatures(const trenode::v1::Partner& partner,
                                                            absl::Duration deadline) override;
  absl::StatusOr<trenode::v1::SearchDatasetsResponse> SearchDatasets(
      const trenode::v1::Partner& partner, const trenode::v1::SearchDatasetsRequest& request,
      absl::Duration deadline) override;

 private:
  // Calls `method` on the partner's `Service` stub and checks who answered.
  template <typename Service, typename Request, typename Reply, typename Method>
  absl::StatusOr<Reply> Call(const trenode::v1::Partner& partner, const Request& request,
                             absl::Duration deadline, Method method, absl::string_view name);
  ClientTls tls_;
  DialIns* dial_ins_ = nullptr;
  absl::Mutex mutex_;
  // By "<node_id> <address>".
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_GRPC_PARTNER_CALLER_H_
