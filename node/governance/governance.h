// Governance: the domain rules of the safe projects and safe people register
// (spec/governance.md): the project state machine, who may propose and
// approve members, training, and the one data-access decision every analysis
// at this node goes through. Knows nothing of gRPC or SQLite.
//
// People are identified as subject@node-id; this node's own people carry its
// node id. Thread-safe if its stores are.
#ifndef TRENODE_NODE_GOVERNANCE_GOVERNANCE_H_
#define TRENODE_NODE_GOVERNANCE_GOVERNANCE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "node/auth/principal.h"
#include "node/catalogue/catalogue_store.h"
#include "node/governance/governance_store.h"
#include "node/log/event_sink.h"
#include "trenode/v1/governance.pb.h"

namespace trenode::governance {

// The steward decisions on a project; each is a transition.
enum class ProjectAction { kApprove, kReject, kSuspend, kResume, kClose };

// The state `action` leads to from `from`, or nullopt if the transition
// table (spec/governance.md) has no such arrow.
std::optional<trenode::v1::ProjectState> NextProjectState(trenode::v1::ProjectState from,
                                                          ProjectAction action);

class Governance {
 public:
  using Clock = std::function<absl::Time()>;

  // Stores and `events` (if given) must outlive this object. Every change is
  // recorded in `events`.
  Governance(GovernanceStore* store, catalogue::CatalogueStore* datasets, std::string node_id,
             Clock clock = &absl::Now, log::EventSink* events = nullptr)
      : store_(store),
        datasets_(datasets),
        node_id_(std::move(node_id)),
        clock_(std::move(clock)),
        events_(events) {}

  // Told of a project after each change of its state or approval is stored
  // (charging's DatasetMeter). It cannot undo the change: it reports its
  // own failures.
  using ProjectObserver = std::function<void(const trenode::v1::Project&)>;
  void set_on_project_changed(ProjectObserver observer) {
    on_project_changed_ = std::move(observer);
  }

  // subject@node-id for a person; empty for nodes and services.
  std::string PersonId(const auth::Principal& caller) const;

  absl::StatusOr<trenode::v1::Project> CreateProject(const auth::Principal& caller,
                                                     trenode::v1::Project project);
  absl::StatusOr<trenode::v1::Project> GetProject(const auth::Principal& caller,
                                                  const std::string& project_id);
  absl::StatusOr<trenode::v1::ListProjectsResponse> ListProjects(
      const auth::Principal& caller, const trenode::v1::ListProjectsRequest& request);
  // Approves (or renews the approval of) a project; the PI's membership is
  // approved with it.
  absl::StatusOr<trenode::v1::Project> ApproveProject(
      const auth::Principal& caller, const trenode::v1::ApproveProjectRequest& request);
  // Reject, suspend, resume or close.
  absl::StatusOr<trenode::v1::Project> DecideProject(
      const auth::Principal& caller, ProjectAction action,
      const trenode::v1::ProjectDecisionRequest& request);

  absl::StatusOr<trenode::v1::Membership> ProposeMember(
      const auth::Principal& caller, const trenode::v1::ProposeMemberRequest& request);
  absl::StatusOr<trenode::v1::Membership> ApproveMember(
      const auth::Principal& caller, const trenode::v1::MemberDecisionRequest& request);
  absl::StatusOr<trenode::v1::Membership> RevokeMember(
      const auth::Principal& caller, const trenode::v1::MemberDecisionRequest& request);
  absl::StatusOr<trenode::v1::ListMembersResponse> ListMembers(
      const auth::Principal& caller, const trenode::v1::ListMembersRequest& request);

  absl::StatusOr<trenode::v1::TrainingRecord> RecordTraining(const auth::Principal& caller,
                                                             trenode::v1::TrainingRecord record);
  absl::StatusOr<trenode::v1::ListTrainingResponse> ListTraining(
      const auth::Principal& caller, const trenode::v1::ListTrainingRequest& request);

  absl::StatusOr<trenode::v1::AccessDecision> CheckAccess(
      const auth::Principal& caller, const trenode::v1::CheckAccessRequest& request);

  // The data-access rule: OK if `person` may use `dataset_ids` in
  // `project_id` now. Otherwise FailedPrecondition (the project's state or
  // approval forbids it: not approved, suspended, closed, expired, dataset
  // retired) or PermissionDenied (the person or dataset is not covered: not a
  // member, no or expired training, dataset not in the approval), with the
  // reason. A suspension's reason (a steward's free text) is given only to
  // this node's own people; a partner's researcher is told the node.
  absl::Status CheckDataAccess(const std::string& person, const std::string& project_id,
                               const std::vector<std::string>& dataset_ids);

  absl::StatusOr<trenode::v1::ListApprovedProjectsResponse> PublicRegister();

  // Separation of duties, by person whatever role they act in: true if
  // `person` is the principal investigator of `project_id` or has ever been
  // a member of it (proposed, approved or revoked). False for an empty person
  // (nodes, services) and for unknown projects.
  absl::StatusOr<bool> IsInvolved(const std::string& person, const std::string& project_id);
  // OK unless `person` IsInvolved in the project; then PermissionDenied:
  // "PERSON is the principal investigator of project \"P\" and may not ACT"
  // (or "a member of", "a former member of").
  absl::Status CheckIndependent(const std::string& person, const std::string& project_id,
                                absl::string_view act);

 private:
  // Researchers see projects they lead or belong to; other roles see all.
  absl::Status CheckCanSee(const auth::Principal& caller, const trenode::v1::Project& project);
  // Applies `change`, moves the project along the transition table and
  // stores it (and `membership`, if set, in the same transaction), recorded
  // as governance.project.<action> with `reason`; FailedPrecondition for a
  // transition the table lacks.
  absl::StatusOr<trenode::v1::Project> Transition(
      const auth::Principal& caller, const std::string& project_id, ProjectAction action,
      const std::function<absl::Status(trenode::v1::Project&)>& change, const std::string& reason,
      const std::optional<trenode::v1::Membership>& membership = std::nullopt);

  ProjectObserver on_project_changed_;
  GovernanceStore* store_;
  catalogue::CatalogueStore* datasets_;
  std::string node_id_;
  Clock clock_;
  log::EventSink* events_;
};

// OK for "subject@node-id" with a non-empty subject without spaces or '@'
// and a node id of [a-z0-9][a-z0-9-]{1,62}; InvalidArgument naming `field`.
absl::Status ValidatePersonId(absl::string_view person, absl::string_view field);

}  // namespace trenode::governance

#endif  // TRENODE_NODE_GOVERNANCE_GOVERNANCE_H_
