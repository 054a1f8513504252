// The Governance gRPC service: thin handlers over the domain Governance.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_GOVERNANCE_SERVICE_H_
#define TRENODE_NODE_RPC_GOVERNANCE_SERVICE_H_

#include "node/charging/charging.h"
#include "node/governance/governance.h"
#include "node/rpc/call_gate.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode::rpc {

class GovernanceService final : public trenode::v1::Governance::Service {
 public:
  // All must outlive the service.
  GovernanceService(CallGate* gate, governance::Governance* governance,
                    charging::Charging* charging)
      : gate_(gate), governance_(governance), charging_(charging) {}

  grpc::Status CreateProject(grpc::ServerContext* context,
                             const trenode::v1::CreateProjectRequest* request,
                             trenode::v1::Project* reply) override;
  grpc::Status GetProject(grpc::ServerContext* context,
                          const trenode::v1::GetProjectRequest* request,
                          trenode::v1::Project* reply) override;
  grpc::Status ListProjects(grpc::ServerContext* context,
                            const trenode::v1::ListProjectsRequest* request,
                            trenode::v1::ListProjectsResponse* reply) override;
  grpc::Status ApproveProject(grpc::ServerContext* context,
                              const trenode::v1::ApproveProjectRequest* request,
                              trenode::v1::Project* reply) override;
  grpc::Status RejectProject(grpc::ServerContext* context,
                             const trenode::v1::ProjectDecisionRequest* request,
                             trenode::v1::Project* reply) override;
  grpc::Status SuspendProject(grpc::ServerContext* context,
                              const trenode::v1::ProjectDecisionRequest* request,
                              trenode::v1::Project* reply) override;
  grpc::Status ResumeProject(grpc::ServerContext* context,
                             const trenode::v1::ProjectDecisionRequest* request,
                             trenode::v1::Project* reply) override;
  grpc::Status CloseProject(grpc::ServerContext* context,
                            const trenode::v1::ProjectDecisionRequest* request,
                            trenode::v1::Project* reply) override;
  grpc::Status ProposeMember(grpc::ServerContext* context,
                             const trenode::v1::ProposeMemberRequest* request,
                             trenode::v1::Membership* reply) override;
  grpc::Status ApproveMember(grpc::ServerContext* context,
                             const trenode::v1::MemberDecisionRequest* request,
                             trenode::v1::Membership* reply) override;
  grpc::Status RevokeMember(grpc::ServerContext* context,
                            const trenode::v1::MemberDecisionRequest* request,
                            trenode::v1::Membership* reply) override;
  grpc::Status ListMembers(grpc::ServerContext* context,
                           const trenode::v1::ListMembersRequest* request,
                           trenode::v1::ListMembersResponse* reply) override;
  grpc::Status RecordTraining(grpc::ServerContext* context,
                              const trenode::v1::RecordTrainingRequest* request,
                              trenode::v1::TrainingRecord* reply) override;
  grpc::Status ListTraining(grpc::ServerContext* context,
                            const trenode::v1::ListTrainingRequest* request,
                            trenode::v1::ListTrainingResponse* reply) override;
  grpc::Status CheckAccess(grpc::ServerContext* context,
                           const trenode::v1::CheckAccessRequest* request,
                           trenode::v1::AccessDecision* reply) override;
  grpc::Status ListApprovedProjects(grpc::ServerContext* context,
                                    const trenode::v1::ListApprovedProjectsRequest* request,
                                    trenode::v1::ListApprovedProjectsResponse* reply) override;
  grpc::Status GetBudget(grpc::ServerContext* context,
                         const trenode::v1::GetBudgetRequest* request,
                         trenode::v1::Budget* reply) override;
  grpc::Status SetBudget(grpc::ServerContext* context,
                         const trenode::v1::SetBudgetRequest* request,
                         trenode::v1::Budget* reply) override;
  grpc::Status GetProjectUsage(grpc::ServerContext* context,
                               const trenode::v1::GetProjectUsageRequest* request,
                               trenode::v1::ProjectUsage* reply) override;

 private:
  CallGate* gate_;
  governance::Governance* governance_;
  charging::Charging* charging_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_GOVERNANCE_SERVICE_H_
