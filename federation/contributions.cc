#include "federation/contributions.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/analyses/analysis_state.h"
#include "node/analyses/federated_part.h"
#include "node/common/status_macros.h"
#include "node/log/event_sink.h"
#include "node/releases/released_bytes.h"

namespace trenode::federation {
namespace {
using trenode::v1::Analysis;
using trenode::v1::Contribution;
using trenode::v1::Release;

// Largest total of released file bytes sent back in one answer.
constexpr size_t kMaxFileBytes = 3 << 20;

// Most succeeded contributions waiting for the mover; beyond, the home
// node's next ask moves them along.
constexpr size_t kMaxWaiting = 1024;

Contribution WithState(trenode::v1::ContributionState state, std::string reason) {
  Contribution contribution;
  contribution.set_state(state);
  contribution.set_reason(std::move(reason));
  return contribution;
}

}  // namespace

Contributions::Contributions(std::string node_id, analyses::Analyses* analyses,
                             analyses::AnalysisStore* analysis_store, releases::Releases* releases,
                             releases::ReleaseStore* release_store,
                             governance::GovernanceStore* projects, adapters::ObjectStore* objects,
                             log::EventSink* events)
    : node_id_(std::move(node_id)),
      analyses_(analyses),
      analysis_store_(analysis_store),
      releases_(releases),
      release_store_(release_store),
      projects_(projects),
      objects_(objects),
      events_(events) {
  analyses_->AddSuccessHook([this](const Analysis& analysis) {
    if (!analyses::IsFederatedPart(analysis, node_id_)) return;
    absl::MutexLock lock(&mu_);
    if (stopping_ || succeeded_.size() >= kMaxWaiting) return;
    succeeded_.push_back(analysis.id());
  });
  analyses_->AddChangeHook([this](const Analysis&) { Changed(); });
  mover_ = std::thread([this] { MoveAlong(); });
}

void Contributions::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (mover_.joinable()) mover_.join();
}

void Contributions::Changed() {
  absl::MutexLock lock(&mu_);
  ++changes_;
}

void Contributions::MoveAlong() {
  while (true) {
    std::string analysis_id;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Contributions* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->succeeded_.empty();
          },
          this));
      if (stopping_) return;
      analysis_id = std::move(succeeded_.front());
      succeeded_.pop_front();
    }
    // On failure the home node's next ask moves it along. Answered to
    // nobody: the records go with the next that somebody waits for (the
    // file copied out to egress, the download), or soon after.
    absl::StatusOr<Analysis> analysis = analysis_store_->Get(analysis_id);
    if (analysis.ok()) {
      log::DeferredRecords moves(log::DeferredRecords::AtEnd::kLeaveToTheLog);
      (void)Describe(SubmitterOf(*analysis, node_id_), *analysis, /*with_files=*/false);
    }
    Changed();
  }
}

auth::Principal SubmitterOf(const Analysis& analysis, const std::string& this_node) {
  const std::string& submitter = analysis.submitter();
  size_t at = submitter.rfind('@');
  auth::Principal person;
  person.subject = submitter.substr(0, at);
  person.kind = auth::Principal::Kind::kPerson;
  person.role = trenode::v1::ROLE_RESEARCHER;
  if (at != std::string::npos && submitter.substr(at + 1) != this_node) {
    person.home_node = submitter.substr(at + 1);
  }
  return person;
}

absl::StatusOr<auth::Principal> Contributions::PersonOf(const auth::Principal& partner,
                                                        const std::string& subject) {
  bool printable = !subject.empty() && subject.size() <= 255;
  for (char c : subject) {
    if (c <= ' ' || c > '~' || c == '@') printable = false;
  }
  if (!printable) {
    return absl::InvalidArgumentError(
        "subject: must be 1 to 255 printable ASCII characters without spaces or \"@\"");
  }
  auth::Principal person;
  person.subject = subject;
  person.kind = auth::Principal::Kind::kPerson;
  person.role = trenode::v1::ROLE_RESEARCHER;
  person.home_node = partner.subject;
  return person;
}

Contribution ContributionOf(const Analysis& analysis, const std::optional<Release>& release,
                            const std::string& for_partner_at) {
  // A steward's or checker's free text stays at this node: a partner is
  // told what happened and where, not why in their words.
  const bool partner = !for_partner_at.empty();
  auto staff_text = [&](absl::string_view told, const std::string& text) {
    return partner ? absl::StrCat(told, " at node ", for_partner_at)
                   : absl::StrCat(told, ": ", text);
  };
  using trenode::v1::ContributionState;
  Contribution contribution;
  switch (analysis.state()) {
    case trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL:
      contribution = WithState(trenode::v1::CONTRIBUTION_STATE_PENDING,
                               "awaiting a data steward's approval of the query");
      break;
    case trenode::v1::ANALYSIS_STATE_REJECTED:
      contribution =
          WithState(trenode::v1::CONTRIBUTION_STATE_REFUSED,
                    staff_text("a data steward rejected the query", analysis.state_reason()));
      break;
    case trenode::v1::ANALYSIS_STATE_FAILED:
      contribution = WithState(trenode::v1::CONTRIBUTION_STATE_FAILED, analysis.state_reason());
      break;
    case trenode::v1::ANALYSIS_STATE_CANCELLED:
      // Cancelled by its home node (the reason this node wrote), or here.
      contribution =
          WithState(trenode::v1::CONTRIBUTION_STATE_CANCELLED,
                    !partner || absl::StartsWith(analysis.state_reason(), kCancelledAtHome)
                        ? analysis.state_reason()
                        : absl::StrCat("the query was cancelled at node ", for_partner_at));
      break;
    case trenode::v1::ANALYSIS_STATE_SUCCEEDED:
      if (!release) {
        contribution = WithState(trenode::v1::CONTRIBUTION_STATE_PENDING,
                                 "the result is being prepared for release");
        break;
      }
      switch (release->state()) {
        case trenode::v1::RELEASE_STATE_RELEASED:
          contribution = WithState(trenode::v1::CONTRIBUTION_STATE_RELEASED, "");
          break;
        case trenode::v1::RELEASE_STATE_IN_REVIEW:
        case trenode::v1::RELEASE_STATE_APPROVED:
          contribution = WithState(trenode::v1::CONTRIBUTION_STATE_HELD_FOR_REVIEW,
                                   "held for review by this node's output checkers");
          break;
        case trenode::v1::RELEASE_STATE_REJECTED:
          contribution = WithState(trenode::v1::CONTRIBUTION_STATE_REFUSED,
                                   "this node's output checkers rejected the result");
          break;
        case trenode::v1::RELEASE_STATE_BLOCKED:
          contribution = WithState(trenode::v1::CONTRIBUTION_STATE_REFUSED,
                                   "the result failed this node's release gates");
          break;
        case trenode::v1::RELEASE_STATE_REVOKED:
          contribution = WithState(trenode::v1::CONTRIBUTION_STATE_REFUSED,
                                   staff_text("the release was revoked", release->state_reason()));
          break;
        case trenode::v1::RELEASE_STATE_WITHDRAWN:
          contribution = WithState(
              trenode::v1::CONTRIBUTION_STATE_FAILED,
              staff_text("the result could not be prepared for release", release->state_reason()));
          break;
        default:  // preparing, draft, submitted
          contribution = WithState(trenode::v1::CONTRIBUTION_STATE_PENDING,
                                   "the result is being prepared for release");
          break;
      }
      break;
    default:  // submitted, approved, queued, running
      contribution =
          WithState(trenode::v1::CONTRIBUTION_STATE_PENDING,
                    absl::StrCat("the query is ", analyses::StateName(analysis.state())));
      break;
  }
  contribution.set_analysis_id(analysis.id());
  // What this node charges for the part, once it has ended (its currency
  // and total only): the home node's statement lists it as reported here.
  if (analysis.has_cost() && !analysis.cost().currency().empty()) {
    contribution.mutable_cost()->set_currency(analysis.cost().currency());
    contribution.mutable_cost()->set_total_micros(analysis.cost().total_micros());
  }
  return contribution;
}

absl::StatusOr<std::string> Contributions::DatasetFor(const std::string& project_id,
                                                      const std::string& named) {
  absl::StatusOr<trenode::v1::Project> project = projects_->GetProject(project_id);
  if (absl::IsNotFound(project.status())) {
    return absl::NotFoundError(
        absl::StrCat("project \"", project_id, "\" is not known at node ", node_id_));
  }
  RETURN_IF_ERROR(project.status());
  const auto& approved = project->approval().dataset_ids();
  if (std::find(approved.begin(), approved.end(), named) != approved.end()) return named;
  if (approved.size() == 1) return approved[0];
  if (approved.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "project \"", project_id, "\" is not approved for any dataset at node ", node_id_));
  }
  return absl::FailedPreconditionError(absl::StrCat("project \"", project_id, "\" is approved for ",
                                                    approved.size(), " datasets at node ", node_id_,
                                                    " and the query names none of them"));
}

absl::StatusOr<Contribution> Contributions::Submit(
    const auth::Principal& person, const trenode::v1::SubmitContributionRequest& request,
    const Analysis* part_of) {
  absl::Cleanup told = [this] { events_->Flush(); };
  if (!request.has_query()) return absl::InvalidArgumentError("query: is required");
  trenode::v1::SubmitAnalysisRequest submit;
  submit.set_project_id(request.project_id());
  submit.set_request_id(request.request_id());
  submit.set_purpose(request.purpose());
  *submit.mutable_query() = request.query();
  ASSIGN_OR_RETURN(std::string dataset,
                   DatasetFor(request.project_id(), request.query().dataset_id()));
  submit.mutable_query()->set_dataset_id(dataset);
  // The home node's own part is marked as it is made: its files are pooled
  // only, and it may run and succeed before Submit returns.
  const bool home_part = part_of != nullptr && person.home_node.empty();
  ASSIGN_OR_RETURN(Analysis analysis,
                   analyses_->Submit(person, submit, home_part ? part_of->id() : ""));
  if (home_part && analysis.federated_part_of().empty()) {
    // Made before, under this request id, but not as the part (a node from
    // before parts were marked as they were made, or a researcher's own):
    // only an analysis nothing has been released of becomes the home part:
    // one with a release may have been downloaded, and the pooled result
    // less it would be a partner's (researchers cannot submit request ids
    // ending in ".here", but older analyses may have them).
    ASSIGN_OR_RETURN(std::vector<trenode::v1::Release> earlier,
                     release_store_->ForAnalysis(analysis.id()));
    if (!earlier.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("analysis ", analysis.id(), " under request id \"", submit.request_id(),
                       "\" was not submitted as the home part of federated analysis ",
                       part_of->id(), " and cannot become it"));
    }
    // Marked before anything can be released of it: its files are pooled only.
    ASSIGN_OR_RETURN(analysis,
                     analyses_->Annotate(
                         analysis.id(), absl::StrCat("part of federated analysis ", part_of->id()),
                         [&](Analysis& a) { a.set_federated_part_of(part_of->id()); }));
  }
  if (home_part && analysis.state() == trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL &&
      !part_of->approved_by().empty()) {
    std::string policy = absl::StrCat("policy:part-of-federated-analysis ", part_of->id());
    absl::StatusOr<Analysis> approved =
        analyses_->Advance(analysis.id(), analyses::AnalysisAction::kApprove,
                           absl::StrCat("part of federated analysis ", part_of->id(),
                                        ", approved by ", part_of->approved_by()),
                           [&](Analysis& a) { a.set_approved_by(policy); });
    if (approved.ok()) analysis = *std::move(approved);
  }
  return Describe(person, analysis);
}

absl::StatusOr<Analysis> Contributions::Find(const auth::Principal& person,
                                             const std::string& request_id) {
  std::string person_id = absl::StrCat(person.subject, "@", person.HomeOf(node_id_));
  ASSIGN_OR_RETURN(auto found, analysis_store_->FindByRequest(person_id, request_id));
  if (!found) {
    return absl::NotFoundError(absl::StrCat("no contribution with request id \"", request_id,
                                            "\" for ", person_id, " at node ", node_id_));
  }
  return found->first;
}

absl::StatusOr<Contribution> Contributions::Get(const auth::Principal& person,
                                                const std::string& request_id,
                                                trenode::v1::ContributionState known_state,
                                                absl::Duration wait) {
  absl::Cleanup told = [this] { events_->Flush(); };
  bool hold = false;
  if (wait > absl::ZeroDuration() && known_state != trenode::v1::CONTRIBUTION_STATE_UNSPECIFIED) {
    absl::MutexLock lock(&mu_);
    hold = !stopping_ && held_ < kMaxHeld;
    if (hold) ++held_;
  }
  if (!hold) {
    ASSIGN_OR_RETURN(Analysis analysis, Find(person, request_id));
    return Describe(person, analysis);
  }
  absl::Cleanup unhold = [this] {
    absl::MutexLock lock(&mu_);
    --held_;
  };
  const absl::Time until = absl::Now() + std::min(wait, kMaxWait);
  bool last = false;  // stopping: answered as it stands
  while (true) {
    int64_t seen;
    {
      absl::MutexLock lock(&mu_);
      seen = changes_;
    }
    ASSIGN_OR_RETURN(Analysis analysis, Find(person, request_id));
    ASSIGN_OR_RETURN(Contribution contribution, Describe(person, analysis, /*with_files=*/false));
    if (contribution.state() != known_state || last || absl::Now() >= until) {
      // Released: described again, with its files (each a download).
      if (contribution.state() != trenode::v1::CONTRIBUTION_STATE_RELEASED) return contribution;
      return Describe(person, analysis);
    }
    absl::MutexLock lock(&mu_);
    auto moved = [this, seen]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return changes_ != seen || stopping_; };
    mu_.AwaitWithDeadline(absl::Condition(&moved), until);
    last = stopping_;
  }
}

absl::StatusOr<Contribution> Contributions::Cancel(const auth::Principal& person,
                                                   const std::string& request_id) {
  absl::Cleanup told = [this] { events_->Flush(); };
  ASSIGN_OR_RETURN(Analysis analysis, Find(person, request_id));
  if (!analyses::IsFinal(analysis.state())) {
    trenode::v1::AnalysisDecisionRequest cancel;
    cancel.set_analysis_id(analysis.id());
    cancel.set_reason(absl::StrCat(kCancelledAtHome, person.HomeOf(node_id_)));
    absl::StatusOr<Analysis> cancelled = analyses_->Cancel(person, cancel);
    // It may have ended meanwhile: say where it stands either way.
    if (!cancelled.ok() && !absl::IsFailedPrecondition(cancelled.status())) {
      return cancelled.status();
    }
    ASSIGN_OR_RETURN(analysis, analysis_store_->Get(analysis.id()));
  }
  return Describe(person, analysis, /*with_files=*/false);
}

absl::StatusOr<Contribution> Contributions::Describe(const auth::Principal& person,
                                                     const Analysis& analysis, bool with_files) {
  std::optional<Release> release;
  auto latest = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Release> releases, release_store_->ForAnalysis(analysis.id()));
    release.reset();
    // The open one if any (at most one is not withdrawn), else the last.
    for (const Release& each : releases) {
      if (!release || each.state() != trenode::v1::RELEASE_STATE_WITHDRAWN) release = each;
    }
    return absl::OkStatus();
  };
  if (analysis.state() == trenode::v1::ANALYSIS_STATE_SUCCEEDED) {
    RETURN_IF_ERROR(latest());
    if (!release) {
      trenode::v1::CreateReleaseRequest create;
      create.set_analysis_id(analysis.id());
      absl::StatusOr<Release> created = releases_->Create(person, create);
      if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
      RETURN_IF_ERROR(latest());
    }
    if (release && release->state() == trenode::v1::RELEASE_STATE_DRAFT) {
      absl::StatusOr<Release> submitted = releases_->Submit(person, release->id());
      if (!submitted.ok() && !absl::IsFailedPrecondition(submitted.status())) {
        return submitted.status();
      }
      RETURN_IF_ERROR(latest());
    }
  }
  Contribution contribution =
      ContributionOf(analysis, release, person.home_node.empty() ? "" : node_id_);
  contribution.set_node_id(node_id_);
  if (!person.home_node.empty()) {
    // The project's choice here; the home node's own part is pooled only.
    absl::StatusOr<trenode::v1::Project> project = projects_->GetProject(analysis.project_id());
    contribution.set_visible(project.ok() && project->approval().federated_results() ==
                                                 trenode::v1::FEDERATED_RESULTS_VISIBLE);
  }
  if (contribution.state() != trenode::v1::CONTRIBUTION_STATE_RELEASED || !with_files) {
    return contribution;
  }
  size_t total = 0;
  for (const auto& file : release->files()) {
    if (!file.withheld()) total += static_cast<size_t>(file.size());
  }
  if (total > kMaxFileBytes) {
    contribution.set_state(trenode::v1::CONTRIBUTION_STATE_FAILED);
    contribution.set_reason(absl::StrCat("the released files are larger than ", kMaxFileBytes,
                                         " bytes, the most sent back"));
    return contribution;
  }
  total = 0;
  for (const auto& file : release->files()) {
    if (file.withheld()) continue;
    // A partner's researcher receives the files: a download, counted and
    // logged. The home node's own part is read for pooling, not downloaded.
    std::string key;
    if (person.home_node.empty()) {
      key = releases::EgressObjectKey(release->id(), file.name());
    } else {
      ASSIGN_OR_RETURN(releases::Releases::DownloadTarget target,
                       releases_->StartDownload(person, release->id(), file.name()));
      key = target.key;
    }
    // Only the reviewed bytes are sent back.
    absl::StatusOr<std::string> content =
        releases::ReadReleasedBytes(*objects_, key, file.sha256(), kMaxFileBytes - total);
    if (absl::IsResourceExhausted(content.status())) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the released files are larger than ", kMaxFileBytes, " bytes, the most sent back"));
    }
    if (!content.ok()) return content.status();
    total += content->size();
    auto* sent = contribution.add_files();
    sent->set_name(file.name());
    sent->set_sha256(file.sha256());
    sent->set_content(*std::move(content));
  }
  return contribution;
}

}  // namespace trenode::federation
