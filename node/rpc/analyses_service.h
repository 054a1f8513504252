// The Analyses gRPC service: thin handlers over the domain Analyses.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_ANALYSES_SERVICE_H_
#define TRENODE_NODE_RPC_ANALYSES_SERVICE_H_

#include "node/analyses/analyses.h"
#include "node/rpc/call_gate.h"
#include "trenode/v1/analyses.grpc.pb.h"

namespace trenode::rpc {

class AnalysesService final : public trenode::v1::Analyses::Service {
 public:
  // Both must outlive the service.
  AnalysesService(CallGate* gate, analyses::Analyses* analyses)
      : gate_(gate), analyses_(analyses) {}

  grpc::Status SubmitAnalysis(grpc::ServerContext* context,
                              const trenode::v1::SubmitAnalysisRequest* request,
                              trenode::v1::Analysis* reply) override;
  grpc::Status EstimateAnalysis(grpc::ServerContext* context,
                                const trenode::v1::SubmitAnalysisRequest* request,
                                trenode::v1::Estimate* reply) override;
  grpc::Status GetAnalysis(grpc::ServerContext* context,
                           const trenode::v1::GetAnalysisRequest* request,
                           trenode::v1::Analysis* reply) override;
  grpc::Status ListAnalyses(grpc::ServerContext* context,
                            const trenode::v1::ListAnalysesRequest* request,
                            trenode::v1::ListAnalysesResponse* reply) override;
  grpc::Status WatchAnalysis(grpc::ServerContext* context,
                             const trenode::v1::WatchAnalysisRequest* request,
                             grpc::ServerWriter<trenode::v1::AnalysisEvent>* writer) override;
  grpc::Status CancelAnalysis(grpc::ServerContext* context,
                              const trenode::v1::AnalysisDecisionRequest* request,
                              trenode::v1::Analysis* reply) override;
  grpc::Status ApproveAnalysis(grpc::ServerContext* context,
                               const trenode::v1::AnalysisDecisionRequest* request,
                               trenode::v1::Analysis* reply) override;
  grpc::Status RejectAnalysis(grpc::ServerContext* context,
                              const trenode::v1::AnalysisDecisionRequest* request,
                              trenode::v1::Analysis* reply) override;
  grpc::Status UploadBundle(grpc::ServerContext* context,
                            grpc::ServerReader<trenode::v1::UploadBundleRequest>* reader,
                            trenode::v1::Bundle* reply) override;
  grpc::Status GetBundle(grpc::ServerContext* context, const trenode::v1::GetBundleRequest* request,
                         trenode::v1::Bundle* reply) override;
  grpc::Status ListBundles(grpc::ServerContext* context,
                           const trenode::v1::ListBundlesRequest* request,
                           trenode::v1::ListBundlesResponse* reply) override;
  grpc::Status ApproveBundle(grpc::ServerContext* context,
                             const trenode::v1::ApproveBundleRequest* request,
                             trenode::v1::Bundle* reply) override;

 private:
  // Reads the header and chunks (at most the bundle size limit) and uploads.
  absl::StatusOr<trenode::v1::Bundle> Upload(
      const auth::Principal& caller, const grpc::ServerContext& context,
      grpc::ServerReader<trenode::v1::UploadBundleRequest>* reader);

  CallGate* gate_;
  analyses::Analyses* analyses_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_ANALYSES_SERVICE_H_
