#include "node/analyses/analyses.h"

#include <algorithm>
#include <iostream>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"
#include "node/analyses/usage_view.h"
#include "node/common/dates.h"
#include "node/common/deterministic_bytes.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"
#include "node/log/merkle.h"
#include "node/query/compiler.h"

namespace trenode::analyses {
namespace {
using google::protobuf::util::TimeUtil;
using trenode::v1::Analysis;
using trenode::v1::AnalysisEvent;
using trenode::v1::AnalysisState;

// Whether an analysis being cancelled may have used something that is still
// to be metered: a query a worker runs, or a script whose job has been (or
// may have been) handed to the backend. A federated analysis at its
// coordinator runs nothing here.
bool MayHaveRun(const Analysis& analysis) {
  if (analysis.nodes_size() > 0) return false;
  return analysis.state() == trenode::v1::ANALYSIS_STATE_RUNNING ||
         (analysis.state() == trenode::v1::ANALYSIS_STATE_QUEUED && analysis.has_script() &&
          !analysis.backend_job_id().empty());
}

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr size_t kMaxText = 20000;
constexpr size_t kMaxFailureDetail = 4096;
// A page of ListAnalyses ends once its stored records pass this, whatever
// page_size asked for (results can be large).
constexpr int64_t kMaxListBytes = 8 << 20;

bool IsResearcher(const auth::Principal& caller) {
  return caller.role == trenode::v1::ROLE_RESEARCHER;
}

absl::Status ValidateRequestId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id: \"", id, "\" is not [A-Za-z0-9._-]{1,128}"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckNotHomePartId(const std::string& request_id) {
  if (absl::EndsWith(request_id, kHereSuffix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id: \"", request_id, "\" ends in \"", kHereSuffix,
                     "\", which is kept for the home node's own part of a federated analysis"));
  }
  return absl::OkStatus();
}

namespace {
std::string BodyHash(const trenode::v1::SubmitAnalysisRequest& request) {
  return absl::BytesToHexString(log::HashBytes(log::Sha256(DeterministicBytes(request))));
}

// Ids sort in submission order: microseconds then 16 random bits.
std::string NewAnalysisId(absl::Time now) {
  static absl::BitGen* bits = new absl::BitGen();
  static absl::Mutex mu;
  uint16_t random;
  {
    absl::MutexLock lock(&mu);
    random = absl::Uniform<uint16_t>(*bits);
  }
  return absl::StrFormat("a-%013x%04x", absl::ToUnixMicros(now), random);
}

std::string Object(const Analysis& analysis) { return absl::StrCat("analysis/", analysis.id()); }

bool IsSha256Hex(absl::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string BundleObjectKey(const std::string& sha256) {
  return absl::StrCat("bundles/", sha256, ".tar.gz");
}

absl::StatusOr<trenode::v1::Bundle> Analyses::UploadBundle(const auth::Principal& caller,
                                                           const std::string& project_id,
                                                           absl::string_view archive) {
  std::string person = governance_->PersonId(caller);
  if (person.empty()) return absl::PermissionDeniedError("only people upload bundles");
  ASSIGN_OR_RETURN(trenode::v1::Bundle bundle, InspectBundle(archive, bundle_limits_));
  std::vector<std::string> datasets(bundle.manifest().datasets().begin(),
                                    bundle.manifest().datasets().end());
  RETURN_IF_ERROR(governance_->CheckDataAccess(person, project_id, datasets));
  ASSIGN_OR_RETURN(std::vector<PositionedProposal> proposed,
                   store_->ListBundleProposals({project_id, person, bundle.sha256()}, 0, 1));
  absl::StatusOr<trenode::v1::Bundle> existing = store_->GetBundle(bundle.sha256());
  if (!existing.ok() && existing.status().code() != absl::StatusCode::kNotFound) {
    return existing.status();
  }
  if (existing.ok() && !proposed.empty()) return BundleViewFor(caller, *std::move(existing));
  if (existing.ok()) {
    bundle = *std::move(existing);  // the first upload's record stays
  } else {
    RETURN_IF_ERROR(adapters::WriteObject(*objects_, BundleObjectKey(bundle.sha256()), archive));
    bundle.set_uploaded_by(person);
    *bundle.mutable_uploaded() = ToTimestamp(clock_());
  }
  trenode::v1::BundleProposal proposal;
  proposal.set_project_id(project_id);
  proposal.set_proposed_by(person);
  *proposal.mutable_proposed() = ToTimestamp(clock_());
  log::ActivityEvent uploaded = log::ChangeEvent(
      "analysis.bundle.upload", absl::StrCat("bundle/", bundle.sha256()), project_id);
  uploaded.hashes.push_back(absl::StrCat("sha256:", bundle.sha256()));
  RETURN_IF_ERROR(log::RecordedChange(events_, caller, std::move(uploaded),
                                      [&] { return store_->PutBundle(bundle, proposal); }));
  ASSIGN_OR_RETURN(trenode::v1::Bundle stored, store_->GetBundle(bundle.sha256()));
  return BundleViewFor(caller, std::move(stored));
}

absl::StatusOr<trenode::v1::Bundle> Analyses::GetBundle(const auth::Principal& caller,
                                                        const std::string& sha256) {
  if (!IsSha256Hex(sha256)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sha256: \"", sha256, "\" is not 64 lower-case hex digits"));
  }
  ASSIGN_OR_RETURN(trenode::v1::Bundle bundle, store_->GetBundle(sha256));
  return BundleViewFor(caller, std::move(bundle));
}

absl::StatusOr<trenode::v1::Bundle> Analyses::BundleViewFor(const auth::Principal& caller,
                                                            trenode::v1::Bundle bundle) {
  if (!IsResearcher(caller)) return bundle;
  const std::string person = governance_->PersonId(caller);
  std::vector<std::string> own;
  if (!person.empty()) {
    ASSIGN_OR_RETURN(auto proposed, store_->ProjectsProposedBy(person, {bundle.sha256()}));
    own = std::move(proposed[bundle.sha256()]);
  }
  return ResearchersView(person, own, std::move(bundle));
}

absl::StatusOr<trenode::v1::Bundle> Analyses::ResearchersView(
    const std::string& person, const std::vector<std::string>& own_projects,
    trenode::v1::Bundle bundle) {
  const bool uploader = !person.empty() && bundle.uploaded_by() == person;
  if (!uploader && own_projects.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no bundle ", bundle.sha256(), " at this node; upload it first"));
  }
  if (!uploader) {
    bundle.clear_uploaded_by();
    bundle.clear_uploaded();
  }
  // Approvals for projects this researcher did not upload it for name other
  // projects and stewards: not theirs to see.
  auto* approvals = bundle.mutable_approvals();
  approvals->erase(std::remove_if(approvals->begin(), approvals->end(),
                                  [&](const trenode::v1::BundleApproval& approval) {
                                    return std::find(own_projects.begin(), own_projects.end(),
                                                     approval.project_id()) == own_projects.end();
                                  }),
                   approvals->end());
  return bundle;
}

absl::StatusOr<trenode::v1::ListBundlesResponse> Analyses::ListBundles(
    const auth::Principal& caller, const trenode::v1::ListBundlesRequest& request) {
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size: is negative");
  const int limit =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  // A page token is the last entry's position.
  int64_t after = 0;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &after) || after <= 0)) {
    return absl::InvalidArgumentError("page_token: not one this node gave");
  }
  BundleProposalFilter filter{request.project_id(), "", "", request.awaiting_approval()};
  if (IsResearcher(caller)) {
    filter.proposed_by = governance_->PersonId(caller);
    if (filter.proposed_by.empty()) {
      return absl::PermissionDeniedError("only people list their bundles as researchers");
    }
  }
  ASSIGN_OR_RETURN(std::vector<PositionedProposal> page,
                   store_->ListBundleProposals(filter, after, limit + 1));
  const size_t shown = std::min(page.size(), static_cast<size_t>(limit));
  // A researcher's own proposals of this page's bundles, read once.
  absl::flat_hash_map<std::string, std::vector<std::string>> own;
  if (IsResearcher(caller)) {
    std::vector<std::string> hashes;
    for (size_t i = 0; i < shown; ++i) hashes.push_back(page[i].proposal.bundle().sha256());
    ASSIGN_OR_RETURN(own, store_->ProjectsProposedBy(filter.proposed_by, hashes));
  }
  trenode::v1::ListBundlesResponse response;
  for (size_t i = 0; i < shown; ++i) {
    trenode::v1::BundleProposal& proposal = page[i].proposal;
    if (IsResearcher(caller)) {
      const std::string sha256 = proposal.bundle().sha256();
      ASSIGN_OR_RETURN(*proposal.mutable_bundle(),
                       ResearchersView(filter.proposed_by, own[sha256],
                                       std::move(*proposal.mutable_bundle())));
    }
    *response.add_proposals() = std::move(proposal);
  }
  if (page.size() > static_cast<size_t>(limit)) {
    response.set_next_page_token(absl::StrCat(page[limit - 1].position));
  }
  return response;
}

absl::StatusOr<trenode::v1::Bundle> Analyses::ApproveBundle(
    const auth::Principal& caller, const trenode::v1::ApproveBundleRequest& request) {
  ASSIGN_OR_RETURN(trenode::v1::Bundle bundle, GetBundle(caller, request.sha256()));
  ASSIGN_OR_RETURN(trenode::v1::Project project, projects_->GetProject(request.project_id()));
  std::string person = governance_->PersonId(caller);
  if (bundle.uploaded_by() == person) {
    return absl::PermissionDeniedError(
        absl::StrCat(person, " uploaded bundle ", bundle.sha256(), " and may not approve it"));
  }
  RETURN_IF_ERROR(governance_->CheckIndependent(person, project.id(), "approve its bundles"));
  if (project.state() != trenode::v1::PROJECT_STATE_APPROVED) {
    return absl::FailedPreconditionError(
        absl::StrCat("project ", project.id(), " is not approved; its bundles cannot be"));
  }
  for (const std::string& dataset : bundle.manifest().datasets()) {
    const auto& allowed = project.approval().dataset_ids();
    if (std::find(allowed.begin(), allowed.end(), dataset) == allowed.end()) {
      return absl::FailedPreconditionError(absl::StrCat("the bundle reads dataset ", dataset,
                                                        ", which project ", project.id(),
                                                        " is not approved for"));
    }
  }
  trenode::v1::BundleApproval approval;
  approval.set_project_id(project.id());
  approval.set_approved_by(person);
  *approval.mutable_approved_at() = ToTimestamp(clock_());
  RETURN_IF_ERROR(
      log::RecordedChange(events_, caller,
                          log::ChangeEvent("analysis.bundle.approve",
                                           absl::StrCat("bundle/", bundle.sha256()), project.id()),
                          [&] { return store_->ApproveBundle(bundle.sha256(), approval); }));
  return store_->GetBundle(bundle.sha256());
}

auth::Principal Analyses::NodePrincipal() const {
  return auth::Principal{node_id_, trenode::v1::ROLE_UNSPECIFIED, auth::Principal::Kind::kNode};
}

void Analyses::NotifyChanged(const Analysis& analysis) {
  {
    absl::MutexLock lock(&mu_);
    auto notify = [this](Changes changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      ++generation_[static_cast<size_t>(changes)];
      changed_[static_cast<size_t>(changes)].SignalAll();
    };
    notify(Changes::kAll);
    if (analysis.state() == trenode::v1::ANALYSIS_STATE_APPROVED ||
        analysis.state() == trenode::v1::ANALYSIS_STATE_QUEUED || analysis.has_script()) {
      notify(Changes::kRunnable);
    }
    if (analysis.nodes_size() > 0) notify(Changes::kFederated);
  }
  for (const auto& hook : change_hooks_) hook(analysis);
}

int64_t Analyses::generation(Changes changes) const {
  absl::MutexLock lock(&mu_);
  return generation_[static_cast<size_t>(changes)];
}

int64_t Analyses::WaitForChange(int64_t generation, absl::Duration timeout, Changes changes) {
  const auto kind = static_cast<size_t>(changes);
  absl::MutexLock lock(&mu_);
  absl::Time deadline = absl::Now() + timeout;
  while (generation_[kind] == generation && !changed_[kind].WaitWithDeadline(&mu_, deadline)) {
  }
  return generation_[kind];
}

absl::Status Analyses::CheckCanSee(const auth::Principal& caller, const Analysis& analysis) {
  if (IsResearcher(caller) && analysis.submitter() != governance_->PersonId(caller)) {
    return absl::NotFoundError(absl::StrCat("no analysis \"", analysis.id(), "\" at this node"));
  }
  return absl::OkStatus();
}

Analysis Analyses::ViewFor(const auth::Principal& caller, Analysis analysis) {
  // Separation of duties by person: whoever submitted the analysis, leads its
  // project or belongs to it sees it as a researcher does, whatever role they
  // act in (an error reading the project fails closed).
  absl::StatusOr<bool> involved =
      governance_->IsInvolved(governance_->PersonId(caller), analysis.project_id());
  bool independent =
      involved.ok() && !*involved && analysis.submitter() != governance_->PersonId(caller);
  if (independent && caller.role == trenode::v1::ROLE_OUTPUT_CHECKER) return analysis;
  if (independent && caller.role == trenode::v1::ROLE_DATA_STEWARD) {
    for (auto& table : *analysis.mutable_result()->mutable_tables()) {
      for (auto& cell : *table.mutable_cells()) cell.clear_evidence();
    }
    return analysis;
  }
  analysis.clear_failure_detail();
  WithholdDisclosiveUsage(analysis.mutable_usage());
  if (analysis.has_result() || analysis.has_script_outcome()) {
    analysis.clear_result();
    analysis.clear_script_outcome();
    analysis.set_results_withheld(true);
  }
  return analysis;
}

absl::Status Analyses::CheckStillAllowed(const auth::Principal& caller, const Analysis& analysis) {
  if (clock_() >= caller.expires) {
    return absl::UnauthenticatedError("your token has expired; sign in again to go on watching");
  }
  if (!IsResearcher(caller)) return absl::OkStatus();
  absl::Status access =
      governance_->CheckDataAccess(governance_->PersonId(caller), analysis.project_id(), {});
  if (access.ok()) return access;
  return absl::Status(access.code(), absl::StrCat("you may no longer follow analysis ",
                                                  analysis.id(), ": ", access.message()));
}

absl::Status Analyses::CheckDatasetsActive(const std::vector<std::string>& dataset_ids) {
  for (const std::string& id : dataset_ids) {
    ASSIGN_OR_RETURN(trenode::v1::DatasetState state, datasets_->StateOf(id));
    if (state == trenode::v1::DATASET_STATE_RETIRED) {
      // Retired datasets are invisible to researchers (spec/catalogue.md):
      // the same answer as for an id that never existed.
      return absl::NotFoundError(absl::StrCat("no dataset \"", id, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Analyses::CheckBody(
    const trenode::v1::SubmitAnalysisRequest& request) {
  if (request.has_script()) {
    if (!IsSha256Hex(request.script().bundle_sha256())) {
      return absl::InvalidArgumentError(absl::StrCat("script.bundle_sha256: \"",
                                                     request.script().bundle_sha256(),
                                                     "\" is not 64 lower-case hex digits"));
    }
    ASSIGN_OR_RETURN(trenode::v1::Bundle bundle,
                     store_->GetBundle(request.script().bundle_sha256()));
    std::vector<std::string> ids(bundle.manifest().datasets().begin(),
                                 bundle.manifest().datasets().end());
    RETURN_IF_ERROR(CheckDatasetsActive(ids));
    return ids;
  }
  if (!request.has_query()) return absl::InvalidArgumentError("give a query or a script");
  const trenode::v1::AggregateQuery& query = request.query();
  if (query.dataset_id().empty()) {
    return absl::InvalidArgumentError("query.dataset_id: is required");
  }
  RETURN_IF_ERROR(CheckDatasetsActive({query.dataset_id()}));
  ASSIGN_OR_RETURN(trenode::v1::Dataset dataset, datasets_->Get(query.dataset_id(), 0));
  absl::StatusOr<query::CompiledQuery> compiled =
      query::CompileQuery(query, dataset, compile_limits_);
  if (!compiled.ok()) {
    return absl::Status(compiled.status().code(),
                        absl::StrCat("query.", compiled.status().message()));
  }
  return std::vector<std::string>{query.dataset_id()};
}

absl::Status Analyses::CheckFederated(const auth::Principal& caller,
                                      const trenode::v1::SubmitAnalysisRequest& request) {
  if (request.nodes().empty()) {
    if (request.federation_deadline_seconds() != 0) {
      return absl::InvalidArgumentError(
          "federation_deadline_seconds: only for a federated analysis (nodes)");
    }
    return absl::OkStatus();
  }
  if (!caller.home_node.empty()) {
    return absl::InvalidArgumentError(
        "nodes: a part of another node's federated analysis is not federated again");
  }
  if (!request.has_query()) {
    return absl::InvalidArgumentError("nodes: only aggregate queries are federated");
  }
  if (request.request_id().size() > kMaxFederatedRequestId) {
    return absl::InvalidArgumentError(absl::StrCat("request_id: at most ", kMaxFederatedRequestId,
                                                   " characters for a federated analysis"));
  }
  if (request.federation_deadline_seconds() < 0 ||
      request.federation_deadline_seconds() > kMaxFederationDeadlineSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("federation_deadline_seconds: 1 to ",
                                                   kMaxFederationDeadlineSeconds,
                                                   ", or 0 for the default"));
  }
  if (request.nodes_size() < 2) {
    return absl::InvalidArgumentError(
        "nodes: at least two (a pooled result of one node would be that node's numbers)");
  }
  if (request.nodes_size() > kMaxFederatedNodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("nodes: at most ", kMaxFederatedNodes, " nodes"));
  }
  std::set<std::string> seen;
  for (const std::string& node : request.nodes()) {
    if (!seen.insert(node).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("nodes: \"", node.substr(0, 64), "\" appears twice"));
    }
  }
  if (!site_check_) {
    return absl::FailedPreconditionError("nodes: this node does not take federated analyses");
  }
  return site_check_({request.nodes().begin(), request.nodes().end()});
}

absl::StatusOr<Analysis> Analyses::Annotate(const std::string& id, const std::string& reason,
                                            const std::function<void(Analysis&)>& change) {
  absl::MutexLock transition(&transition_mu_);
  ASSIGN_OR_RETURN(Analysis analysis, store_->Get(id));
  AnalysisState state = analysis.state();
  change(analysis);
  absl::Time now = clock_();
  analysis.set_state(state);
  analysis.set_sequence(analysis.sequence() + 1);
  *analysis.mutable_updated() = ToTimestamp(now);
  AnalysisEvent event;
  event.set_analysis_id(id);
  event.set_sequence(analysis.sequence());
  event.set_state(state);
  event.set_reason(reason);
  event.set_actor("node");
  *event.mutable_time() = ToTimestamp(now);
  log::ActivityEvent logged =
      log::ChangeEvent("analysis.note", Object(analysis), analysis.project_id(), reason);
  logged.request_id = analysis.request_id();
  bool made = false;
  absl::Status changed = log::RecordedChange(
      events_, NodePrincipal(), std::move(logged),
      [&] { return store_->Update(analysis, state, event); }, &made);
  if (made) NotifyChanged(analysis);
  RETURN_IF_ERROR(changed);
  return analysis;
}

absl::StatusOr<Analysis> Analyses::Submit(const auth::Principal& caller,
                                          const trenode::v1::SubmitAnalysisRequest& request,
                                          const std::string& part_of) {
  std::string person = governance_->PersonId(caller);
  if (person.empty()) return absl::PermissionDeniedError("only people submit analyses");
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  if (request.purpose().size() > kMaxText) {
    return absl::InvalidArgumentError(absl::StrCat("purpose: at most ", kMaxText, " bytes"));
  }
  RETURN_IF_ERROR(CheckFederated(caller, request));
  std::string body_hash = BodyHash(request);
  auto replay = [&]() -> absl::StatusOr<std::optional<Analysis>> {
    ASSIGN_OR_RETURN(auto existing, store_->FindByRequest(person, request.request_id()));
    if (!existing) return std::nullopt;
    if (existing->second != body_hash) {
      return absl::AlreadyExistsError(
          absl::StrCat("request id \"", request.request_id(), "\" was already used for analysis ",
                       existing->first.id(), " with a different body; choose a new request id"));
    }
    return ViewFor(caller, existing->first);
  };
  ASSIGN_OR_RETURN(std::optional<Analysis> earlier, replay());
  if (earlier) return *earlier;

  ASSIGN_OR_RETURN(std::vector<std::string> dataset_ids, CheckBody(request));
  absl::Status gate = governance_->CheckDataAccess(person, request.project_id(), dataset_ids);
  if (!gate.ok()) {
    log::ActivityEvent refused;
    refused.action = "analysis.submit";
    refused.object = absl::StrCat("project/", request.project_id());
    refused.outcome = "deny";
    refused.reason = std::string(gate.message());
    refused.request_id = request.request_id();
    refused.project = request.project_id();
    if (events_ != nullptr) RETURN_IF_ERROR(events_->Record(caller, std::move(refused)));
    return gate;
  }

  absl::Time now = clock_();
  Analysis analysis = NewAnalysis(person, request, dataset_ids, now);
  analysis.set_federated_part_of(part_of);
  // Held until the analysis, with its estimate, is stored (admission.h).
  absl::ReleasableMutexLock admission_lock(&admission_mu_);
  if (admission_ != nullptr) {
    // A concurrent retry of this request may have been admitted while this
    // one waited: it is answered with that analysis, never refused for the
    // budget its twin already holds.
    ASSIGN_OR_RETURN(earlier, replay());
    if (earlier) return *earlier;
    ASSIGN_OR_RETURN(*analysis.mutable_estimate(), admission_->Estimate(analysis));
    absl::Status admitted = admission_->Admit(analysis, analysis.estimate());
    if (!admitted.ok()) {
      log::ActivityEvent refused;
      refused.action = "analysis.budget_refused";
      refused.object = absl::StrCat("project/", request.project_id());
      refused.outcome = "deny";
      refused.reason = std::string(admitted.message());
      refused.request_id = request.request_id();
      refused.project = request.project_id();
      if (events_ != nullptr) RETURN_IF_ERROR(events_->Record(caller, std::move(refused)));
      return admitted;
    }
  }
  AnalysisEvent first;
  first.set_analysis_id(analysis.id());
  first.set_sequence(1);
  first.set_state(analysis.state());
  first.set_actor(person);
  *first.mutable_time() = ToTimestamp(now);
  log::ActivityEvent submitted =
      log::ChangeEvent("analysis.submit", Object(analysis), request.project_id());
  submitted.request_id = request.request_id();
  submitted.hashes.push_back(absl::StrCat("sha256:", body_hash));
  bool made = false;
  // Made, routed (approved, queued), then answered: the records are written
  // while it goes on, and it is answered once they are durable.
  log::DeferredRecords deferred;
  absl::Status created = log::RecordedChange(
      events_, caller, std::move(submitted),
      [&] { return store_->Create(analysis, body_hash, first); }, &made);
  admission_lock.Release();
  if (created.code() == absl::StatusCode::kAlreadyExists) {
    // A concurrent retry of the same request won the race.
    ASSIGN_OR_RETURN(earlier, replay());
    if (earlier) return *earlier;
  }
  if (!made) return created;
  NotifyChanged(analysis);
  // Made, even if its record waits in the outbox: it goes on, and a retry
  // with the same request id finds it.
  ASSIGN_OR_RETURN(analysis, Route(analysis));
  RETURN_IF_ERROR(created);
  RETURN_IF_ERROR(deferred.Finish());
  return ViewFor(caller, std::move(analysis));
}

Analysis Analyses::NewAnalysis(const std::string& person,
                               const trenode::v1::SubmitAnalysisRequest& request,
                               const std::vector<std::string>& dataset_ids, absl::Time now) {
  Analysis analysis;
  analysis.set_id(NewAnalysisId(now));
  analysis.set_project_id(request.project_id());
  analysis.set_submitter(person);
  analysis.set_request_id(request.request_id());
  analysis.set_purpose(request.purpose());
  if (request.has_script()) {
    *analysis.mutable_script() = request.script();
  } else {
    *analysis.mutable_query() = request.query();
  }
  for (const std::string& id : dataset_ids) analysis.add_dataset_ids(id);
  if (!request.nodes().empty()) {
    *analysis.mutable_nodes() = request.nodes();
    analysis.set_federation_deadline_seconds(request.federation_deadline_seconds() > 0
                                                 ? request.federation_deadline_seconds()
                                                 : kDefaultFederationDeadlineSeconds);
  }
  analysis.set_state(trenode::v1::ANALYSIS_STATE_SUBMITTED);
  analysis.set_sequence(1);
  *analysis.mutable_created() = ToTimestamp(now);
  *analysis.mutable_updated() = ToTimestamp(now);
  return analysis;
}

absl::StatusOr<trenode::v1::Estimate> Analyses::Estimate(
    const auth::Principal& caller, const trenode::v1::SubmitAnalysisRequest& request) {
  if (admission_ == nullptr) {
    return absl::FailedPreconditionError("this node does not charge for analyses");
  }
  std::string person = governance_->PersonId(caller);
  if (person.empty()) return absl::PermissionDeniedError("only people submit analyses");
  RETURN_IF_ERROR(CheckFederated(caller, request));
  ASSIGN_OR_RETURN(std::vector<std::string> dataset_ids, CheckBody(request));
  RETURN_IF_ERROR(governance_->CheckDataAccess(person, request.project_id(), dataset_ids));
  Analysis analysis = NewAnalysis(person, request, dataset_ids, clock_());
  ASSIGN_OR_RETURN(trenode::v1::Estimate estimate, admission_->Estimate(analysis));
  log::ActivityEvent event;
  event.action = "analysis.estimate";
  event.object = absl::StrCat("project/", request.project_id());
  event.outcome = "success";
  event.reason = estimate.basis();
  event.project = request.project_id();
  if (events_ != nullptr) RETURN_IF_ERROR(events_->Record(caller, std::move(event)));
  return estimate;
}

absl::StatusOr<Analysis> Analyses::Route(const Analysis& analysis) {
  if (analysis.has_script()) {
    ASSIGN_OR_RETURN(trenode::v1::Bundle bundle,
                     store_->GetBundle(analysis.script().bundle_sha256()));
    for (const auto& approval : bundle.approvals()) {
      if (approval.project_id() != analysis.project_id()) continue;
      return Advance(
          analysis.id(), AnalysisAction::kAutoApprove,
          absl::StrCat("its bundle was approved for the project by ", approval.approved_by()),
          [](Analysis& a) { a.set_approved_by(kApprovedBundlePolicy); });
    }
    return Advance(analysis.id(), AnalysisAction::kAwaitApproval,
                   "needs a data steward's approval");
  }
  ASSIGN_OR_RETURN(trenode::v1::Project project, projects_->GetProject(analysis.project_id()));
  std::set<int> preapproved(project.approval().preapproved_query_kinds().begin(),
                            project.approval().preapproved_query_kinds().end());
  bool covered = analysis.has_query() && !preapproved.empty();
  for (const auto& output : analysis.query().outputs()) {
    int kind = output.has_counts()     ? trenode::v1::OUTPUT_KIND_COUNTS
               : output.has_summary()  ? trenode::v1::OUTPUT_KIND_SUMMARY
               : output.has_crosstab() ? trenode::v1::OUTPUT_KIND_CROSSTAB
                                       : trenode::v1::OUTPUT_KIND_REGRESSION;
    covered = covered && preapproved.contains(kind);
  }
  if (!covered) {
    return Advance(analysis.id(), AnalysisAction::kAwaitApproval,
                   "needs a data steward's approval");
  }
  return Advance(analysis.id(), AnalysisAction::kAutoApprove,
                 "every output is of a kind pre-approved for the project",
                 [](Analysis& a) { a.set_approved_by(kPreapprovedQueryPolicy); });
}

absl::Status Analyses::CheckStartGate(const Analysis& analysis) {
  std::vector<std::string> datasets(analysis.dataset_ids().begin(), analysis.dataset_ids().end());
  return governance_->CheckDataAccess(analysis.submitter(), analysis.project_id(), datasets);
}

absl::StatusOr<Analysis> Analyses::Get(const auth::Principal& caller,
                                       const std::string& analysis_id) {
  ASSIGN_OR_RETURN(Analysis analysis, store_->Get(analysis_id));
  RETURN_IF_ERROR(CheckCanSee(caller, analysis));
  ASSIGN_OR_RETURN(int position, QueuePosition(analysis));
  analysis.set_queue_position(position);
  return ViewFor(caller, std::move(analysis));
}

absl::StatusOr<int> Analyses::QueuePosition(const Analysis& analysis) {
  if (analysis.state() != trenode::v1::ANALYSIS_STATE_QUEUED || !analysis.has_query()) return 0;
  ASSIGN_OR_RETURN(std::vector<Analysis> queued,
                   store_->InStates({trenode::v1::ANALYSIS_STATE_QUEUED}));
  int position = 1;
  for (const Analysis& other : queued) {
    if (other.id() == analysis.id()) return position;
    if (other.has_query()) ++position;
  }
  return 0;  // started meanwhile
}

absl::StatusOr<trenode::v1::ListAnalysesResponse> Analyses::List(
    const auth::Principal& caller, const trenode::v1::ListAnalysesRequest& request) {
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size: is negative");
  int limit =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  AnalysisFilter filter{request.project_id(), "", request.state()};
  if (IsResearcher(caller)) {
    // An empty submitter would match everyone's: a researcher must be a person.
    filter.submitter = governance_->PersonId(caller);
    if (filter.submitter.empty()) {
      return absl::PermissionDeniedError("only people list their analyses as researchers");
    }
  }
  bool cut = false;
  ASSIGN_OR_RETURN(std::vector<Analysis> page,
                   store_->List(filter, request.page_token(), limit + 1, kMaxListBytes, &cut));
  trenode::v1::ListAnalysesResponse response;
  for (size_t i = 0; i < page.size() && i < static_cast<size_t>(limit); ++i) {
    *response.add_analyses() = ViewFor(caller, std::move(page[i]));
  }
  if (page.size() > static_cast<size_t>(limit) || cut) {
    response.set_next_page_token(response.analyses(response.analyses_size() - 1).id());
  }
  return response;
}

absl::StatusOr<Analysis> Analyses::Cancel(const auth::Principal& caller,
                                          const trenode::v1::AnalysisDecisionRequest& request) {
  return Decide(caller, request, AnalysisAction::kCancel);
}

absl::StatusOr<Analysis> Analyses::Approve(const auth::Principal& caller,
                                           const trenode::v1::AnalysisDecisionRequest& request) {
  return Decide(caller, request, AnalysisAction::kApprove);
}

absl::StatusOr<Analysis> Analyses::Reject(const auth::Principal& caller,
                                          const trenode::v1::AnalysisDecisionRequest& request) {
  if (request.reason().empty()) {
    return absl::InvalidArgumentError("reason: say why the analysis is rejected");
  }
  return Decide(caller, request, AnalysisAction::kReject);
}

absl::StatusOr<Analysis> Analyses::Decide(const auth::Principal& caller,
                                          const trenode::v1::AnalysisDecisionRequest& request,
                                          AnalysisAction action) {
  if (request.reason().size() > kMaxText) {
    return absl::InvalidArgumentError(absl::StrCat("reason: at most ", kMaxText, " bytes"));
  }
  ASSIGN_OR_RETURN(Analysis current, store_->Get(request.analysis_id()));
  RETURN_IF_ERROR(CheckCanSee(caller, current));
  std::string person = governance_->PersonId(caller);
  if (action == AnalysisAction::kApprove) {
    if (current.submitter() == person) {
      return absl::PermissionDeniedError(
          absl::StrCat(person, " submitted analysis ", current.id(), " and may not approve it"));
    }
    RETURN_IF_ERROR(
        governance_->CheckIndependent(person, current.project_id(), "approve its analyses"));
  }
  std::string actor = person.empty() ? caller.subject : person;
  ASSIGN_OR_RETURN(Analysis changed, Apply(caller, actor, request.analysis_id(), action,
                                           request.reason(), [&](Analysis& a) {
                                             if (action == AnalysisAction::kApprove)
                                               a.set_approved_by(actor);
                                             if (action == AnalysisAction::kCancel &&
                                                 MayHaveRun(a))
                                               a.set_metering_pending(true);
                                           }));
  if (action == AnalysisAction::kCancel) {
    for (const auto& hook : cancel_hooks_) hook(changed);
  }
  return ViewFor(caller, std::move(changed));
}

absl::StatusOr<Analysis> Analyses::Advance(const std::string& id, AnalysisAction action,
                                           const std::string& reason,
                                           const std::function<void(Analysis&)>& change) {
  absl::StatusOr<Analysis> advanced = Apply(NodePrincipal(), "node", id, action, reason, change);
  if (advanced.ok() && advanced->state() == trenode::v1::ANALYSIS_STATE_SUCCEEDED) {
    for (const auto& hook : success_hooks_) hook(*advanced);
  }
  return advanced;
}

absl::StatusOr<Analysis> Analyses::Apply(const auth::Principal& actor, const std::string& actor_id,
                                         const std::string& id, AnalysisAction action,
                                         const std::string& reason,
                                         const std::function<void(Analysis&)>& change) {
  // Held until the change is logged, so the log has transitions in the order
  // they happened.
  absl::MutexLock transition(&transition_mu_);
  ASSIGN_OR_RETURN(Analysis analysis, store_->Get(id));
  AnalysisState from = analysis.state();
  std::optional<AnalysisState> to = NextAnalysisState(from, action);
  if (!to) {
    return absl::FailedPreconditionError(
        absl::StrCat("analysis ", id, " is ", StateName(from), "; it cannot ", ActionName(action)));
  }
  if (change) change(analysis);
  absl::Time now = clock_();
  analysis.set_state(*to);
  analysis.set_state_reason(reason);
  analysis.set_sequence(analysis.sequence() + 1);
  *analysis.mutable_updated() = ToTimestamp(now);
  AnalysisEvent event;
  event.set_analysis_id(id);
  event.set_sequence(analysis.sequence());
  event.set_state(*to);
  event.set_reason(reason);
  event.set_actor(actor_id);
  *event.mutable_time() = ToTimestamp(now);
  log::ActivityEvent logged = log::ChangeEvent(absl::StrCat("analysis.", ActionName(action)),
                                               Object(analysis), analysis.project_id(), reason);
  if (*to == trenode::v1::ANALYSIS_STATE_FAILED) logged.outcome = "failure";
  logged.request_id = analysis.request_id();
  bool made = false;
  absl::Status changed = log::RecordedChange(
      events_, actor, std::move(logged), [&] { return store_->Update(analysis, from, event); },
      &made);
  if (made) NotifyChanged(analysis);  // even if its record waits in the outbox
  RETURN_IF_ERROR(changed);
  return analysis;
}

absl::StatusOr<Analysis> Analyses::Fail(const std::string& id, const std::string& reason,
                                        absl::string_view detail,
                                        const std::function<void(Analysis&)>& change) {
  std::string kept = PrintableText(detail, kMaxFailureDetail);
  if (!kept.empty()) std::cerr << absl::StrCat("trenode: analysis ", id, " failed: ", kept, "\n");
  return Advance(id, AnalysisAction::kFail, reason, [&](Analysis& a) {
    if (change) change(a);
    a.set_failure_detail(kept);
  });
}

absl::Status Analyses::RecordNodeEvent(const Analysis& analysis, const std::string& action,
                                       const std::string& outcome, const std::string& reason) {
  if (events_ == nullptr) return absl::OkStatus();
  log::ActivityEvent event;
  event.action = action;
  event.object = Object(analysis);
  event.outcome = outcome;
  event.reason = reason;
  event.project = analysis.project_id();
  event.request_id = analysis.request_id();
  return events_->Record(NodePrincipal(), std::move(event));
}

absl::Status Analyses::Watch(const auth::Principal& caller,
                             const trenode::v1::WatchAnalysisRequest& request,
                             const std::function<bool(const AnalysisEvent&)>& write,
                             const std::function<bool()>& cancelled) {
  if (request.from_sequence() < 0) return absl::InvalidArgumentError("from_sequence: is negative");
  ASSIGN_OR_RETURN(Analysis analysis, store_->Get(request.analysis_id()));
  RETURN_IF_ERROR(CheckCanSee(caller, analysis));
  int64_t next = request.from_sequence();
  while (!cancelled()) {
    int64_t generation = this->generation();
    ASSIGN_OR_RETURN(std::vector<AnalysisEvent> events, store_->Events(analysis.id(), next));
    for (AnalysisEvent& event : events) {
      if (event.state() == trenode::v1::ANALYSIS_STATE_QUEUED &&
          event.sequence() == events.back().sequence()) {
        ASSIGN_OR_RETURN(analysis, store_->Get(analysis.id()));
        ASSIGN_OR_RETURN(int position, QueuePosition(analysis));
        event.set_queue_position(position);
      }
      if (!write(event)) return absl::OkStatus();
      next = event.sequence() + 1;
      if (IsFinal(event.state())) return absl::OkStatus();
    }
    if (events.empty()) {
      ASSIGN_OR_RETURN(analysis, store_->Get(analysis.id()));
      if (IsFinal(analysis.state()) && next > analysis.sequence()) return absl::OkStatus();
    }
    // What is recorded is the caller's to read; going on waiting needs access.
    RETURN_IF_ERROR(CheckStillAllowed(caller, analysis));
    WaitForChange(generation, absl::Seconds(1));
  }
  return absl::OkStatus();
}

}  // namespace trenode::analyses
