// The ActivityLog gRPC service: thin handlers over log::ActivityLog.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_ACTIVITY_LOG_SERVICE_H_
#define TRENODE_NODE_RPC_ACTIVITY_LOG_SERVICE_H_

#include "node/governance/governance.h"
#include "node/log/activity_log.h"
#include "node/rpc/call_gate.h"
#include "trenode/v1/activity_log.grpc.pb.h"

namespace trenode::rpc {

class ActivityLogService final : public trenode::v1::ActivityLog::Service {
 public:
  static constexpr uint64_t kMaxEntriesPerCall = 10000;

  // All must outlive the service; `governance` decides which projects a
  // researcher may read the events of.
  ActivityLogService(CallGate* gate, log::ActivityLog* log, governance::Governance* governance)
      : gate_(gate), log_(log), governance_(governance) {}

  // What GetCheckpoint and GetConsistencyProof answer (also down a
  // partner's stream).
  static absl::StatusOr<trenode::v1::Checkpoint> CurrentCheckpoint(log::ActivityLog& log);
  static absl::StatusOr<trenode::v1::ConsistencyProof> Consistency(
      log::ActivityLog& log, const trenode::v1::GetConsistencyProofRequest& request);

  grpc::Status GetCheckpoint(grpc::ServerContext* context,
                             const trenode::v1::GetCheckpointRequest* request,
                             trenode::v1::Checkpoint* reply) override;
  grpc::Status GetEntries(grpc::ServerContext* context,
                          const trenode::v1::GetEntriesRequest* request,
                          grpc::ServerWriter<trenode::v1::LogEntry>* writer) override;
  grpc::Status WatchEntries(grpc::ServerContext* context,
                            const trenode::v1::WatchEntriesRequest* request,
                            grpc::ServerWriter<trenode::v1::LogEntry>* writer) override;
  grpc::Status GetInclusionProof(grpc::ServerContext* context,
                                 const trenode::v1::GetInclusionProofRequest* request,
                                 trenode::v1::InclusionProof* reply) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext* context,
                                   const trenode::v1::GetConsistencyProofRequest* request,
                                   trenode::v1::ConsistencyProof* reply) override;

 private:
  // Researchers read only events of a project they lead or belong to, named
  // in the request; everyone else the gate admitted reads everything.
  absl::Status CheckResearcherScope(const auth::Principal& caller, const std::string& project);

  CallGate* gate_;
  log::ActivityLog* log_;
  governance::Governance* governance_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_ACTIVITY_LOG_SERVICE_H_
