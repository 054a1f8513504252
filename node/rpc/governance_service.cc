#include "node/rpc/governance_service.h"

#include "node/rpc/handle.h"

namespace trenode::rpc {
namespace {
constexpr char kService[] = "trenode.v1.Governance";
}  // namespace

grpc::Status GovernanceService::CreateProject(grpc::ServerContext* context,
                                              const trenode::v1::CreateProjectRequest* request,
                                              trenode::v1::Project* reply) {
  return Handle(*gate_, kService, "CreateProject", context, reply,
                [&](const auth::Principal& caller) {
                  return governance_->CreateProject(caller, request->project());
                });
}

grpc::Status GovernanceService::GetProject(grpc::ServerContext* context,
                                           const trenode::v1::GetProjectRequest* request,
                                           trenode::v1::Project* reply) {
  return Handle(*gate_, kService, "GetProject", context, reply, [&](const auth::Principal& caller) {
    return governance_->GetProject(caller, request->project_id());
  });
}

grpc::Status GovernanceService::ListProjects(grpc::ServerContext* context,
                                             const trenode::v1::ListProjectsRequest* request,
                                             trenode::v1::ListProjectsResponse* reply) {
  return Handle(
      *gate_, kService, "ListProjects", context, reply,
      [&](const auth::Principal& caller) { return governance_->ListProjects(caller, *request); });
}

grpc::Status GovernanceService::ApproveProject(grpc::ServerContext* context,
                                               const trenode::v1::ApproveProjectRequest* request,
                                               trenode::v1::Project* reply) {
  return Handle(
      *gate_, kService, "ApproveProject", context, reply,
      [&](const auth::Principal& caller) { return governance_->ApproveProject(caller, *request); });
}

grpc::Status GovernanceService::RejectProject(grpc::ServerContext* context,
                                              const trenode::v1::ProjectDecisionRequest* request,
                                              trenode::v1::Project* reply) {
  return Handle(
      *gate_, kService, "RejectProject", context, reply, [&](const auth::Principal& caller) {
        return governance_->DecideProject(caller, governance::ProjectAction::kReject, *request);
      });
}

grpc::Status GovernanceService::SuspendProject(grpc::ServerContext* context,
                                               const trenode::v1::ProjectDecisionRequest* request,
                                               trenode::v1::Project* reply) {
  return Handle(
      *gate_, kService, "SuspendProject", context, reply, [&](const auth::Principal& caller) {
        return governance_->DecideProject(caller, governance::ProjectAction::kSuspend, *request);
      });
}

grpc::Status GovernanceService::ResumeProject(grpc::ServerContext* context,
                                              const trenode::v1::ProjectDecisionRequest* request,
                                              trenode::v1::Project* reply) {
  return Handle(
      *gate_, kService, "ResumeProject", context, reply, [&](const auth::Principal& caller) {
        return governance_->DecideProject(caller, governance::ProjectAction::kResume, *request);
      });
}

grpc::Status GovernanceService::CloseProject(grpc::ServerContext* context,
                                             const trenode::v1::ProjectDecisionRequest* request,
                                             trenode::v1::Project* reply) {
  return Handle(
      *gate_, kService, "CloseProject", context, reply, [&](const auth::Principal& caller) {
        return governance_->DecideProject(caller, governance::ProjectAction::kClose, *request);
      });
}

grpc::Status GovernanceService::ProposeMember(grpc::ServerContext* context,
                                              const trenode::v1::ProposeMemberRequest* request,
                                              trenode::v1::Membership* reply) {
  return Handle(
      *gate_, kService, "ProposeMember", context, reply,
      [&](const auth::Principal& caller) { return governance_->ProposeMember(caller, *request); });
}

grpc::Status GovernanceService::ApproveMember(grpc::ServerContext* context,
                                              const trenode::v1::MemberDecisionRequest* request,
                                              trenode::v1::Membership* reply) {
  return Handle(
      *gate_, kService, "ApproveMember", context, reply,
      [&](const auth::Principal& caller) { return governance_->ApproveMember(caller, *request); });
}

grpc::Status GovernanceService::RevokeMember(grpc::ServerContext* context,
                                             const trenode::v1::MemberDecisionRequest* request,
                                             trenode::v1::Membership* reply) {
  return Handle(
      *gate_, kService, "RevokeMember", context, reply,
      [&](const auth::Principal& caller) { return governance_->RevokeMember(caller, *request); });
}

grpc::Status GovernanceService::ListMembers(grpc::ServerContext* context,
                                            const trenode::v1::ListMembersRequest* request,
                                            trenode::v1::ListMembersResponse* reply) {
  return Handle(
      *gate_, kService, "ListMembers", context, reply,
      [&](const auth::Principal& caller) { return governance_->ListMembers(caller, *request); });
}

grpc::Status GovernanceService::RecordTraining(grpc::ServerContext* context,
                                               const trenode::v1::RecordTrainingRequest* request,
                                               trenode::v1::TrainingRecord* reply) {
  return Handle(*gate_, kService, "RecordTraining", context, reply,
                [&](const auth::Principal& caller) {
                  return governance_->RecordTraining(caller, request->record());
                });
}

grpc::Status GovernanceService::ListTraining(grpc::ServerContext* context,
                                             const trenode::v1::ListTrainingRequest* request,
                                             trenode::v1::ListTrainingResponse* reply) {
  return Handle(
      *gate_, kService, "ListTraining", context, reply,
      [&](const auth::Principal& caller) { return governance_->ListTraining(caller, *request); });
}

grpc::Status GovernanceService::CheckAccess(grpc::ServerContext* context,
                                            const trenode::v1::CheckAccessRequest* request,
                                            trenode::v1::AccessDecision* reply) {
  return Handle(
      *gate_, kService, "CheckAccess", context, reply,
      [&](const auth::Principal& caller) { return governance_->CheckAccess(caller, *request); });
}

grpc::Status GovernanceService::ListApprovedProjects(
    grpc::ServerContext* context, const trenode::v1::ListApprovedProjectsRequest* request,
    trenode::v1::ListApprovedProjectsResponse* reply) {
  (void)request;
  return Handle(*gate_, kService, "ListApprovedProjects", context, reply,
                [&](const auth::Principal&) { return governance_->PublicRegister(); });
}

grpc::Status GovernanceService::GetBudget(grpc::ServerContext* context,
                                          const trenode::v1::GetBudgetRequest* request,
                                          trenode::v1::Budget* reply) {
  return Handle(*gate_, kService, "GetBudget", context, reply, [&](const auth::Principal& caller) {
    return charging_->GetBudget(caller, request->project_id());
  });
}

grpc::Status GovernanceService::SetBudget(grpc::ServerContext* context,
                                          const trenode::v1::SetBudgetRequest* request,
                                          trenode::v1::Budget* reply) {
  return Handle(*gate_, kService, "SetBudget", context, reply,
                [&](const auth::Principal& caller) { return charging_->SetBudget(caller, *request); });
}

grpc::Status GovernanceService::GetProjectUsage(grpc::ServerContext* context,
                                                const trenode::v1::GetProjectUsageRequest* request,
                                                trenode::v1::ProjectUsage* reply) {
  return Handle(*gate_, kService, "GetProjectUsage", context, reply,
                [&](const auth::Principal& caller) {
                  return charging_->GetProjectUsage(caller, *request);
                });
}

}  // namespace trenode::rpc
