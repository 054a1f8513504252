// The Federation gRPC service: thin handlers over federation::Federation.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_FEDERATION_SERVICE_H_
#define TRENODE_NODE_RPC_FEDERATION_SERVICE_H_

#include "federation/contributions.h"
#include "federation/cosignature_book.h"
#include "federation/dial_in.h"
#include "federation/federation.h"
#include "federation/log_relay.h"
#include "federation/witness.h"
#include "node/catalogue/catalogue.h"
#include "node/rpc/call_gate.h"
#include "trenode/v1/federation.grpc.pb.h"

namespace trenode::rpc {

// The parts of the node that witness partners' logs and are witnessed.
struct Witnessing {
  federation::Witness* witness;
  federation::CosignatureBook* book;
  federation::LogRelay* relay;
};

class FederationService final : public trenode::v1::Federation::Service {
 public:
  // Every pointer must outlive the service.
  FederationService(CallGate* gate, federation::Federation* federation,
                    federation::Contributions* contributions, catalogue::Catalogue* catalogue,
                    Witnessing witnessing, federation::DialIns* dial_ins)
      : gate_(gate),
        federation_(federation),
        contributions_(contributions),
        catalogue_(catalogue),
        witnessing_(witnessing),
        dial_ins_(dial_ins) {}

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
  grpc::Status AddCosignature(grpc::ServerContext* context,
                              const trenode::v1::AddCosignatureRequest* request,
                              trenode::v1::AddCosignatureResponse* reply) override;
  grpc::Status GetCosignatures(grpc::ServerContext* context,
                               const trenode::v1::GetCosignaturesRequest* request,
                               trenode::v1::Cosignatures* reply) override;
  grpc::Status GetWitnessStatus(grpc::ServerContext* context,
                                const trenode::v1::GetWitnessStatusRequest* request,
                                trenode::v1::WitnessStatus* reply) override;
  grpc::Status GetFederationLogs(grpc::ServerContext* context,
                                 const trenode::v1::GetFederationLogsRequest* request,
                                 trenode::v1::FederationLogs* reply) override;
  grpc::Status Attend(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<trenode::v1::RelayedCall, trenode::v1::AttendUp>* stream) override;

 private:
  CallGate* gate_;
  federation::Federation* federation_;
  federation::Contributions* contributions_;
  catalogue::Catalogue* catalogue_;
  Witnessing witnessing_;
  federation::DialIns* dial_ins_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_FEDERATION_SERVICE_H_
