#include "node/governance/governance.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "node/catalogue/dataset_validation.h"
#include "node/common/dates.h"
#include "node/common/status_macros.h"
#include "node/disclosure/policy.h"

namespace trenode::governance {
namespace {
using google::protobuf::util::TimeUtil;
using trenode::v1::Membership;
using trenode::v1::Project;
using trenode::v1::ProjectState;

constexpr size_t kMaxText = 20000;
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

std::string StateName(ProjectState state) {
  std::string name = absl::AsciiStrToLower(trenode::v1::ProjectState_Name(state));
  return name.substr(std::string("project_state_").size());
}

const char* ActionName(ProjectAction action) {
  switch (action) {
    case ProjectAction::kApprove:
      return "approved";
    case ProjectAction::kReject:
      return "rejected";
    case ProjectAction::kSuspend:
      return "suspended";
    case ProjectAction::kResume:
      return "resumed";
    case ProjectAction::kClose:
      return "closed";
  }
  return "changed";
}

bool Is(const auth::Principal& caller, trenode::v1::Role role) { return caller.role == role; }

absl::Status RequireText(const std::string& text, absl::string_view field) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  if (text.size() > kMaxText) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": at most ", kMaxText, " bytes"));
  }
  return absl::OkStatus();
}

bool IsMember(const std::optional<Membership>& membership) {
  return membership && membership->state() != trenode::v1::MEMBERSHIP_STATE_REVOKED;
}

}  // namespace

std::optional<ProjectState> NextProjectState(ProjectState from, ProjectAction action) {
  using trenode::v1::PROJECT_STATE_APPROVED;
  using trenode::v1::PROJECT_STATE_CLOSED;
  using trenode::v1::PROJECT_STATE_PROPOSED;
  using trenode::v1::PROJECT_STATE_REJECTED;
  using trenode::v1::PROJECT_STATE_SUSPENDED;
  // The whole state machine (spec/governance.md): anything absent is refused.
  static const auto* table = new std::map<std::pair<ProjectState, ProjectAction>, ProjectState>{
      {{PROJECT_STATE_PROPOSED, ProjectAction::kApprove}, PROJECT_STATE_APPROVED},
      {{PROJECT_STATE_PROPOSED, ProjectAction::kReject}, PROJECT_STATE_REJECTED},
      {{PROJECT_STATE_PROPOSED, ProjectAction::kClose}, PROJECT_STATE_CLOSED},
      {{PROJECT_STATE_APPROVED, ProjectAction::kApprove}, PROJECT_STATE_APPROVED},  // renewal
      {{PROJECT_STATE_APPROVED, ProjectAction::kSuspend}, PROJECT_STATE_SUSPENDED},
      {{PROJECT_STATE_APPROVED, ProjectAction::kClose}, PROJECT_STATE_CLOSED},
      {{PROJECT_STATE_SUSPENDED, ProjectAction::kResume}, PROJECT_STATE_APPROVED},
      {{PROJECT_STATE_SUSPENDED, ProjectAction::kClose}, PROJECT_STATE_CLOSED},
  };
  auto it = table->find({from, action});
  if (it == table->end()) return std::nullopt;
  return it->second;
}

absl::Status ValidatePersonId(absl::string_view person, absl::string_view field) {
  size_t at = person.rfind('@');
  bool ok = at != absl::string_view::npos && at > 0 && at < 256 &&
            catalogue::ValidateDatasetId(person.substr(at + 1)).ok();
  for (char c : person.substr(0, at == absl::string_view::npos ? 0 : at)) {
    ok = ok && c != '@' && !absl::ascii_isspace(static_cast<unsigned char>(c)) &&
         absl::ascii_isprint(static_cast<unsigned char>(c));
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", person, "\" is not a person id of the form subject@node-id"));
  }
  return absl::OkStatus();
}

std::string Governance::PersonId(const auth::Principal& caller) const {
  if (caller.kind != auth::Principal::Kind::kPerson) return "";
  return absl::StrCat(caller.subject, "@", caller.HomeOf(node_id_));
}

absl::Status Governance::CheckCanSee(const auth::Principal& caller, const Project& project) {
  if (!Is(caller, trenode::v1::ROLE_RESEARCHER)) return absl::OkStatus();
  std::string me = PersonId(caller);
  if (project.principal_investigator() == me) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<Membership> membership, store_->GetMembership(project.id(), me));
  if (IsMember(membership)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      me, " is neither the principal investigator nor a member of project \"", project.id(), "\""));
}

absl::StatusOr<Project> Governance::CreateProject(const auth::Principal& caller, Project project) {
  if (absl::Status s = catalogue::ValidateDatasetId(project.id()); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("project.id: \"", project.id(), "\" must be 2 to 63 characters of [a-z0-9-]"));
  }
  RETURN_IF_ERROR(RequireText(project.title(), "project.title"));
  if (project.lay_summary().size() > kMaxText) {
    return absl::InvalidArgumentError("project.lay_summary: at most 20000 bytes");
  }
  if (Is(caller, trenode::v1::ROLE_RESEARCHER)) {
    // A researcher always leads what they propose, whatever the request says.
    project.set_principal_investigator(PersonId(caller));
  } else {
    RETURN_IF_ERROR(
        ValidatePersonId(project.principal_investigator(), "project.principal_investigator"));
  }
  for (const std::string& dataset : project.requested_dataset_ids()) {
    RETURN_IF_ERROR(catalogue::ValidateDatasetId(dataset));
  }
  project.set_state(trenode::v1::PROJECT_STATE_PROPOSED);
  project.clear_state_reason();
  project.clear_approval();
  *project.mutable_created() = ToTimestamp(clock_());
  *project.mutable_updated() = project.created();
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("governance.project.create", absl::StrCat("project/", project.id()),
                       project.id()),
      [&] { return store_->CreateProject(project); }));
  return project;
}

absl::StatusOr<Project> Governance::GetProject(const auth::Principal& caller,
                                               const std::string& project_id) {
  ASSIGN_OR_RETURN(Project project, store_->GetProject(project_id));
  RETURN_IF_ERROR(CheckCanSee(caller, project));
  return project;
}

absl::StatusOr<trenode::v1::ListProjectsResponse> Governance::ListProjects(
    const auth::Principal& caller, const trenode::v1::ListProjectsRequest& request) {
  int page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  if (page_size < 1 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size ", request.page_size(), " is out of range: use 1 to 500"));
  }
  std::optional<std::string> person;
  if (Is(caller, trenode::v1::ROLE_RESEARCHER)) person = PersonId(caller);
  // The token is the last id returned: ids are public within the node's register.
  ASSIGN_OR_RETURN(std::vector<Project> projects,
                   store_->ListProjects(request.page_token(), page_size + 1, person));
  trenode::v1::ListProjectsResponse response;
  bool more = static_cast<int>(projects.size()) > page_size;
  if (more) projects.pop_back();
  for (Project& project : projects) *response.add_projects() = std::move(project);
  if (more) response.set_next_page_token(response.projects().rbegin()->id());
  return response;
}

absl::StatusOr<Project> Governance::Transition(
    const auth::Principal& caller, const std::string& project_id, ProjectAction action,
    const std::function<absl::Status(Project&)>& change, const std::string& reason,
    const std::optional<Membership>& membership) {
  ASSIGN_OR_RETURN(Project project, store_->GetProject(project_id));
  ProjectState from = project.state();
  std::optional<ProjectState> to = NextProjectState(from, action);
  if (!to) {
    return absl::FailedPreconditionError(absl::StrCat("project \"", project_id, "\" is ",
                                                      StateName(from), "; it cannot be ",
                                                      ActionName(action)));
  }
  RETURN_IF_ERROR(change(project));
  project.set_state(*to);
  *project.mutable_updated() = ToTimestamp(clock_());
  static constexpr const char* kNames[] = {"approve", "reject", "suspend", "resume", "close"};
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent(absl::StrCat("governance.project.", kNames[static_cast<int>(action)]),
                       absl::StrCat("project/", project.id()), project.id(), reason),
      [&] { return store_->UpdateProject(project, from, membership); }));
  if (on_project_changed_) on_project_changed_(project);
  return project;
}

absl::StatusOr<Project> Governance::ApproveProject(
    const auth::Principal& caller, const trenode::v1::ApproveProjectRequest& request) {
  RETURN_IF_ERROR(RequireText(request.reference(), "reference"));
  if (!request.has_expires() || FromTimestamp(request.expires()) <= clock_()) {
    return absl::InvalidArgumentError("expires: is required and must be in the future");
  }
  if (request.dataset_ids().empty()) {
    return absl::InvalidArgumentError("dataset_ids: name at least one dataset of this node");
  }
  if (!request.disclosure_policy().empty() || !request.disclosure_policy_overrides().empty()) {
    std::vector<std::string> overrides(request.disclosure_policy_overrides().begin(),
                                       request.disclosure_policy_overrides().end());
    RETURN_IF_ERROR(
        disclosure::PolicyFrom(request.disclosure_policy(), overrides, "disclosure_policy")
            .status());
  }
  if (!request.auto_release_owner().empty()) {
    RETURN_IF_ERROR(ValidatePersonId(request.auto_release_owner(), "auto_release_owner"));
  }
  std::set<std::string> seen;
  for (const std::string& id : request.dataset_ids()) {
    RETURN_IF_ERROR(catalogue::ValidateDatasetId(id));
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("dataset_ids: \"", id, "\" appears twice"));
    }
    absl::StatusOr<trenode::v1::Dataset> dataset = datasets_->Get(id, 0);
    if (!dataset.ok() || dataset->state() != trenode::v1::DATASET_STATE_ACTIVE) {
      return absl::FailedPreconditionError(
          absl::StrCat("dataset \"", id, "\" is not an active dataset of this node"));
    }
  }
  std::string steward = PersonId(caller);
  RETURN_IF_ERROR(CheckIndependent(steward, request.project_id(), "approve it"));
  ASSIGN_OR_RETURN(Project current, store_->GetProject(request.project_id()));
  if (!request.auto_release_owner().empty() &&
      request.auto_release_owner() == current.principal_investigator()) {
    return absl::InvalidArgumentError(
        absl::StrCat("auto_release_owner: ", request.auto_release_owner(),
                     " is the project's principal investigator; the owner of its auto-release "
                     "policy must be independent of the project"));
  }
  // The PI was named in the approved project: their membership comes with it.
  ASSIGN_OR_RETURN(std::optional<Membership> pi,
                   store_->GetMembership(current.id(), current.principal_investigator()));
  std::optional<Membership> pi_membership;
  if (!pi || pi->state() == trenode::v1::MEMBERSHIP_STATE_PROPOSED) {
    Membership& membership = pi_membership.emplace();
    membership.set_project_id(current.id());
    membership.set_person(current.principal_investigator());
    membership.set_state(trenode::v1::MEMBERSHIP_STATE_APPROVED);
    membership.set_proposed_by(steward);
    *membership.mutable_proposed_at() = ToTimestamp(clock_());
    membership.set_decided_by(steward);
    *membership.mutable_decided_at() = membership.proposed_at();
    membership.set_reason("principal investigator of the approved project");
  }
  ASSIGN_OR_RETURN(
      Project project,
      Transition(
          caller, request.project_id(), ProjectAction::kApprove,
          [&](Project& p) -> absl::Status {
        if (p.lay_summary().empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("project \"", p.id(),
                           "\" has no lay summary; one is published with every "
                           "approval"));
        }
        auto* approval = p.mutable_approval();
        approval->set_reference(request.reference());
        approval->set_approved_by(steward);
        *approval->mutable_approved_at() = ToTimestamp(clock_());
        *approval->mutable_expires() = request.expires();
        *approval->mutable_dataset_ids() = request.dataset_ids();
        *approval->mutable_preapproved_query_kinds() = request.preapproved_query_kinds();
        approval->set_auto_release_owner(request.auto_release_owner());
        approval->set_disclosure_policy(request.disclosure_policy());
        *approval->mutable_disclosure_policy_overrides() = request.disclosure_policy_overrides();
        approval->set_federated_results(request.federated_results());
        p.clear_state_reason();
        return absl::OkStatus();
      },
          absl::StrCat(request.reference(), "; PI ", current.principal_investigator(),
                       " approved"),
          pi_membership));
  return project;
}

absl::StatusOr<Project> Governance::DecideProject(
    const auth::Principal& caller, ProjectAction action,
    const trenode::v1::ProjectDecisionRequest& request) {
  if (action == ProjectAction::kApprove) {
    return absl::InvalidArgumentError("use ApproveProject to approve");
  }
  if (action != ProjectAction::kResume) RETURN_IF_ERROR(RequireText(request.reason(), "reason"));
  // Lifting a suspension is an approval: never by someone involved in it.
  if (action == ProjectAction::kResume) {
    RETURN_IF_ERROR(CheckIndependent(PersonId(caller), request.project_id(), "resume it"));
  }
  return Transition(
      caller, request.project_id(), action,
      [&](Project& p) {
        p.set_state_reason(request.reason());
        return absl::OkStatus();
      },
      request.reason());
}

absl::StatusOr<Membership> Governance::ProposeMember(
    const auth::Principal& caller, const trenode::v1::ProposeMemberRequest& request) {
  RETURN_IF_ERROR(ValidatePersonId(request.person(), "person"));
  ASSIGN_OR_RETURN(Project project, store_->GetProject(request.project_id()));
  std::string me = PersonId(caller);
  if (Is(caller, trenode::v1::ROLE_RESEARCHER) && project.principal_investigator() != me) {
    return absl::PermissionDeniedError(absl::StrCat("only the principal investigator of project \"",
                                                    project.id(),
                                                    "\" or a data steward "
                                                    "may propose members"));
  }
  if (project.state() == trenode::v1::PROJECT_STATE_CLOSED ||
      project.state() == trenode::v1::PROJECT_STATE_REJECTED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "project \"", project.id(), "\" is ", StateName(project.state()), "; it takes no members"));
  }
  ASSIGN_OR_RETURN(std::optional<Membership> existing,
                   store_->GetMembership(project.id(), request.person()));
  if (IsMember(existing)) {
    return absl::AlreadyExistsError(absl::StrCat(
        request.person(), " is already ",
        existing->state() == trenode::v1::MEMBERSHIP_STATE_APPROVED ? "a member" : "proposed",
        " of project \"", project.id(), "\""));
  }
  Membership membership;
  membership.set_project_id(project.id());
  membership.set_person(request.person());
  membership.set_state(trenode::v1::MEMBERSHIP_STATE_PROPOSED);
  membership.set_proposed_by(me.empty() ? caller.subject : me);
  *membership.mutable_proposed_at() = ToTimestamp(clock_());
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("governance.member.propose",
                       absl::StrCat("member/", project.id(), "/", request.person()), project.id()),
      [&] { return store_->PutMembership(membership); }));
  return membership;
}

absl::StatusOr<Membership> Governance::ApproveMember(
    const auth::Principal& caller, const trenode::v1::MemberDecisionRequest& request) {
  RETURN_IF_ERROR(ValidatePersonId(request.person(), "person"));
  std::string me = PersonId(caller);
  if (request.person() == me) {
    return absl::PermissionDeniedError("you cannot approve your own membership");
  }
  RETURN_IF_ERROR(CheckIndependent(me, request.project_id(), "approve its members"));
  ASSIGN_OR_RETURN(std::optional<Membership> membership,
                   store_->GetMembership(request.project_id(), request.person()));
  if (!membership || membership->state() != trenode::v1::MEMBERSHIP_STATE_PROPOSED) {
    return absl::FailedPreconditionError(absl::StrCat(
        request.person(), " has no pending proposal in project \"", request.project_id(), "\""));
  }
  membership->set_state(trenode::v1::MEMBERSHIP_STATE_APPROVED);
  membership->set_decided_by(me);
  *membership->mutable_decided_at() = ToTimestamp(clock_());
  membership->set_reason(request.reason());
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("governance.member.approve",
                       absl::StrCat("member/", request.project_id(), "/", request.person()),
                       request.project_id()),
      [&] { return store_->PutMembership(*membership); }));
  return *membership;
}

absl::StatusOr<Membership> Governance::RevokeMember(
    const auth::Principal& caller, const trenode::v1::MemberDecisionRequest& request) {
  RETURN_IF_ERROR(ValidatePersonId(request.person(), "person"));
  RETURN_IF_ERROR(RequireText(request.reason(), "reason"));
  if (request.person() == PersonId(caller)) {
    // Leaving would make a steward look independent of their own project.
    return absl::PermissionDeniedError("you cannot revoke your own membership");
  }
  ASSIGN_OR_RETURN(std::optional<Membership> membership,
                   store_->GetMembership(request.project_id(), request.person()));
  if (!IsMember(membership)) {
    return absl::FailedPreconditionError(absl::StrCat(
        request.person(), " is not a member of project \"", request.project_id(), "\""));
  }
  membership->set_state(trenode::v1::MEMBERSHIP_STATE_REVOKED);
  membership->set_decided_by(PersonId(caller));
  *membership->mutable_decided_at() = ToTimestamp(clock_());
  membership->set_reason(request.reason());
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("governance.member.revoke",
                       absl::StrCat("member/", request.project_id(), "/", request.person()),
                       request.project_id(), request.reason()),
      [&] { return store_->PutMembership(*membership); }));
  return *membership;
}

absl::StatusOr<trenode::v1::ListMembersResponse> Governance::ListMembers(
    const auth::Principal& caller, const trenode::v1::ListMembersRequest& request) {
  ASSIGN_OR_RETURN(Project project, GetProject(caller, request.project_id()));
  ASSIGN_OR_RETURN(std::vector<Membership> members, store_->ListMembers(project.id()));
  trenode::v1::ListMembersResponse response;
  for (Membership& member : members) *response.add_members() = std::move(member);
  return response;
}

absl::StatusOr<trenode::v1::TrainingRecord> Governance::RecordTraining(
    const auth::Principal& caller, trenode::v1::TrainingRecord record) {
  RETURN_IF_ERROR(ValidatePersonId(record.person(), "record.person"));
  RETURN_IF_ERROR(RequireText(record.course(), "record.course"));
  RETURN_IF_ERROR(ValidateDate(record.completed(), "record.completed"));
  RETURN_IF_ERROR(ValidateDate(record.expires(), "record.expires"));
  if (record.expires() < record.completed()) {
    return absl::InvalidArgumentError("record.expires: is before record.completed");
  }
  if (record.person() == PersonId(caller)) {
    return absl::PermissionDeniedError("you cannot record your own training");
  }
  record.set_recorded_by(PersonId(caller));
  *record.mutable_recorded_at() = ToTimestamp(clock_());
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("governance.training.record", absl::StrCat("training/", record.person()),
                       "", absl::StrCat(record.course(), " valid through ", record.expires())),
      [&] { return store_->AddTraining(record); }));
  return record;
}

absl::StatusOr<trenode::v1::ListTrainingResponse> Governance::ListTraining(
    const auth::Principal& caller, const trenode::v1::ListTrainingRequest& request) {
  std::string person = request.person().empty() ? PersonId(caller) : request.person();
  if (person.empty()) return absl::InvalidArgumentError("person: is required");
  if (Is(caller, trenode::v1::ROLE_RESEARCHER) && person != PersonId(caller)) {
    return absl::PermissionDeniedError("researchers may list only their own training");
  }
  RETURN_IF_ERROR(ValidatePersonId(person, "person"));
  ASSIGN_OR_RETURN(std::vector<trenode::v1::TrainingRecord> records, store_->ListTraining(person));
  trenode::v1::ListTrainingResponse response;
  for (auto& record : records) *response.add_records() = std::move(record);
  return response;
}

absl::StatusOr<trenode::v1::AccessDecision> Governance::CheckAccess(
    const auth::Principal& caller, const trenode::v1::CheckAccessRequest& request) {
  std::string person = request.person().empty() ? PersonId(caller) : request.person();
  if (person.empty()) return absl::InvalidArgumentError("person: is required");
  if (Is(caller, trenode::v1::ROLE_RESEARCHER) && person != PersonId(caller)) {
    return absl::PermissionDeniedError("researchers may check only their own access");
  }
  RETURN_IF_ERROR(ValidatePersonId(person, "person"));
  absl::Status decision = CheckDataAccess(
      person, request.project_id(), {request.dataset_ids().begin(), request.dataset_ids().end()});
  if (!decision.ok() && decision.code() != absl::StatusCode::kPermissionDenied &&
      decision.code() != absl::StatusCode::kFailedPrecondition) {
    return decision;
  }
  trenode::v1::AccessDecision answer;
  answer.set_allowed(decision.ok());
  answer.set_reason(std::string(decision.message()));
  return answer;
}

absl::Status Governance::CheckDataAccess(const std::string& person, const std::string& project_id,
                                         const std::vector<std::string>& dataset_ids) {
  absl::StatusOr<Project> found = store_->GetProject(project_id);
  if (found.status().code() == absl::StatusCode::kNotFound) {
    return absl::PermissionDeniedError(
        absl::StrCat("project \"", project_id, "\" is not registered at this node"));
  }
  RETURN_IF_ERROR(found.status());
  const Project& project = *found;
  switch (project.state()) {
    case trenode::v1::PROJECT_STATE_APPROVED:
      break;
    case trenode::v1::PROJECT_STATE_SUSPENDED:
      // The steward's reason is for this node's own people; a partner's
      // researcher (person@partner) is told where, not why.
      if (!absl::EndsWith(person, absl::StrCat("@", node_id_))) {
        return absl::FailedPreconditionError(absl::StrCat(
            "project \"", project_id, "\" is suspended at node ", node_id_,
            " (ask its data stewards why)"));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "project \"", project_id, "\" is suspended at this node: ", project.state_reason()));
    case trenode::v1::PROJECT_STATE_CLOSED:
      return absl::FailedPreconditionError(
          absl::StrCat("project \"", project_id, "\" is closed at this node"));
    default:
      return absl::FailedPreconditionError(absl::StrCat("project \"", project_id,
                                                        "\" is not approved at this node (it is ",
                                                        StateName(project.state()), ")"));
  }
  absl::Time now = clock_();
  absl::Time expires = FromTimestamp(project.approval().expires());
  if (now >= expires) {
    return absl::FailedPreconditionError(
        absl::StrCat("the approval of project \"", project_id, "\" expired on ", Day(expires)));
  }
  ASSIGN_OR_RETURN(std::optional<Membership> membership, store_->GetMembership(project_id, person));
  if (!membership || membership->state() != trenode::v1::MEMBERSHIP_STATE_APPROVED) {
    return absl::PermissionDeniedError(absl::StrCat(
        person, " is not an approved member of project \"", project_id, "\" at this node"));
  }
  ASSIGN_OR_RETURN(std::vector<trenode::v1::TrainingRecord> training, store_->ListTraining(person));
  if (training.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat(person, " has no training record at this node"));
  }
  // Records are valid through their expiry date; ISO dates compare as text.
  std::string today = Day(now);
  bool current = false;
  std::string last_expiry;
  for (const auto& record : training) {
    current = current || record.expires() >= today;
    last_expiry = std::max(last_expiry, record.expires());
  }
  if (!current) {
    return absl::PermissionDeniedError(
        absl::StrCat(person, "'s training expired on ", last_expiry));
  }
  std::set<std::string> approved(project.approval().dataset_ids().begin(),
                                 project.approval().dataset_ids().end());
  for (const std::string& dataset : dataset_ids) {
    if (!approved.contains(dataset)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "dataset \"", dataset, "\" is not in the approval of project \"", project_id, "\""));
    }
    absl::StatusOr<trenode::v1::DatasetState> state = datasets_->StateOf(dataset);
    if (!state.ok() || *state != trenode::v1::DATASET_STATE_ACTIVE) {
      return absl::FailedPreconditionError(
          absl::StrCat("dataset \"", dataset, "\" is no longer available at this node"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Governance::IsInvolved(const std::string& person,
                                            const std::string& project_id) {
  if (person.empty()) return false;
  absl::StatusOr<Project> project = store_->GetProject(project_id);
  if (project.status().code() == absl::StatusCode::kNotFound) return false;
  RETURN_IF_ERROR(project.status());
  if (project->principal_investigator() == person) return true;
  // Former members too: revoking a membership does not make anyone independent.
  ASSIGN_OR_RETURN(std::optional<Membership> membership, store_->GetMembership(project_id, person));
  return membership.has_value();
}

absl::Status Governance::CheckIndependent(const std::string& person, const std::string& project_id,
                                          absl::string_view act) {
  if (person.empty()) return absl::OkStatus();
  absl::StatusOr<Project> project = store_->GetProject(project_id);
  if (project.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  RETURN_IF_ERROR(project.status());
  if (project->principal_investigator() == person) {
    return absl::PermissionDeniedError(absl::StrCat(
        person, " is the principal investigator of project \"", project_id, "\" and may not ", act));
  }
  ASSIGN_OR_RETURN(std::optional<Membership> membership, store_->GetMembership(project_id, person));
  if (membership.has_value()) {
    return absl::PermissionDeniedError(absl::StrCat(
        person, " is ", IsMember(membership) ? "a member" : "a former member", " of project \"",
        project_id, "\" and may not ", act));
  }
  return absl::OkStatus();
}

absl::StatusOr<trenode::v1::ListApprovedProjectsResponse> Governance::PublicRegister() {
  ASSIGN_OR_RETURN(std::vector<Project> projects,
                   store_->ProjectsInStates({trenode::v1::PROJECT_STATE_APPROVED,
                                             trenode::v1::PROJECT_STATE_SUSPENDED}));
  trenode::v1::ListApprovedProjectsResponse response;
  for (const Project& project : projects) {
    auto* entry = response.add_projects();
    entry->set_project_id(project.id());
    entry->set_title(project.title());
    entry->set_lay_summary(project.lay_summary());
    entry->set_institution(project.institution());
    *entry->mutable_dataset_ids() = project.approval().dataset_ids();
    *entry->mutable_approved_at() = project.approval().approved_at();
    *entry->mutable_expires() = project.approval().expires();
    entry->set_state(project.state());
  }
  return response;
}

}  // namespace trenode::governance
