// The Federation gRPC service: thin handlers over federation::Federation.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_FEDERATION_SERVICE_H_
#define TRENODE_NODE_RPC_FEDERATION_SERVICE_H_

#include "federation/contributions.h"
#include "federation/federation.h"
#include "node/catalogue/catalogue.h"
#include "node/rpc/call_gate.h"
#include "trenode/v1/federation.grpc.pb.h"

namespace trenode::rpc {

class FederationService final : public trenode::v1::Federation::Service {
 public:
  // Every pointer must outlive the service.
  FederationService(CallGate* gate, federation::Federation* federation,
                    federation::Contributions* contributions, catalogue::Catalogue* catalogue)
      : gate_(gate),
        federation_(federation),
        contributions_(contributions),
        catalogue_(catalogue) {}

  grpc::Status GetNodeInfo(grpc::ServerContext* context,
                           const trenode::v1::GetNodeInfoRequest* request,
                           trenode::v1::NodeInfo* reply) override;
  grpc::Status ListPartners(grpc::ServerContext* context,
                            const trenode::v1::ListPartnersRequest* request,
                            trenode::v1::ListPartnersResponse* reply) override;
  grpc::Status SearchFederation(grpc::ServerContext* context,
                                const trenode::v1::SearchFederationRequest* request,
                                trenode::v1::SearchFederationResponse* reply) override;
  grpc::Status SubmitContribution(grpc::ServerContext* context,
                                  const trenode::v1::SubmitContributionRequest* request,
                                  trenode::v1::Contribution* reply) override;
  grpc::Status GetContribution(grpc::ServerContext* context,
                               const trenode::v1::ContributionRef* request,
                               trenode::v1::Contribution* reply) override;
  grpc::Status CancelContribution(grpc::ServerContext* context,
                                  const trenode::v1::ContributionRef* request,
                                  trenode::v1::Contribution* reply) override;

 private:
  CallGate* gate_;
  federation::Federation* federation_;
  federation::Contributions* contributions_;
  catalogue::Catalogue* catalogue_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_FEDERATION_SERVICE_H_
