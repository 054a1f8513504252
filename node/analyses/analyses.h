// Analyses: the domain rules of approved-analysis submission
// (spec/analyses.md): idempotent submission behind the governance gate,
// routing to a steward or a project's pre-approval, the state machine, who
// may see what, and watching. Running analyses is the AnalysisRunner's job;
// it drives the same state machine through Advance(). Knows nothing of gRPC
// or SQLite. Thread-safe if its stores are.
#ifndef TRENODE_NODE_ANALYSES_ANALYSES_H_
#define TRENODE_NODE_ANALYSES_ANALYSES_H_

#include <array>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "adapters/object_store.h"
#include "node/analyses/admission.h"
#include "node/analyses/analysis_state.h"
#include "node/analyses/analysis_store.h"
#include "node/analyses/bundle.h"
#include "node/auth/principal.h"
#include "node/catalogue/catalogue_store.h"
#include "node/governance/governance.h"
#include "node/governance/governance_store.h"
#include "node/log/event_sink.h"
#include "node/query/compiler.h"
#include "trenode/v1/analyses.pb.h"

namespace trenode::analyses {

// The approver recorded when a project's pre-approved query kinds cover a
// query.
inline constexpr char kPreapprovedQueryPolicy[] = "policy:project-preapproved-query-kinds";
// The approver recorded when the bundle was approved for the project.
inline constexpr char kApprovedBundlePolicy[] = "policy:bundle-approved-for-project";

// Federated analyses (spec/federation.md): the deadline for the nodes'
// contributions unless the submission sets one, its most, the most nodes,
// and the longest request id (the home node's own part adds kHereSuffix).
inline constexpr int kDefaultFederationDeadlineSeconds = 60;
inline constexpr int kMaxFederationDeadlineSeconds = 7 * 24 * 3600;
inline constexpr int kMaxFederatedNodes = 16;
inline constexpr size_t kMaxFederatedRequestId = 123;
inline constexpr char kHereSuffix[] = ".here";

// InvalidArgument if `request_id` ends in kHereSuffix, which is kept for the
// home node's own part of a federated analysis: a researcher's analysis
// under such an id could otherwise be taken for that part.
absl::Status CheckNotHomePartId(const std::string& request_id);

// Where a bundle's bytes are kept.
std::string BundleObjectKey(const std::string& sha256);

class Analyses {
 public:
  using Clock = std::function<absl::Time()>;

  // Everything given must outlive this object. Every change is recorded in
  // `events` (if given).
  Analyses(AnalysisStore* store, governance::Governance* governance,
           governance::GovernanceStore* projects, catalogue::CatalogueStore* datasets,
           adapters::ObjectStore* objects, std::string node_id, Clock clock = &absl::Now,
           log::EventSink* events = nullptr, BundleLimits bundle_limits = {},
           query::CompileLimits compile_limits = {})
      : store_(store),
        governance_(governance),
        projects_(projects),
        datasets_(datasets),
        objects_(objects),
        bundle_limits_(bundle_limits),
        compile_limits_(compile_limits),
        node_id_(std::move(node_id)),
        clock_(std::move(clock)),
        events_(events) {}

  // `part_of`: the id of the federated analysis whose home node's own part
  // this is (the federation's coordinator submits it): the analysis is made
  // with federated_part_of set, so there is no moment at which it could be
  // released on its own. A retry of the request answers the analysis made
  // before, as it was made.
  absl::StatusOr<trenode::v1::Analysis> Submit(const auth::Principal& caller,
                                               const trenode::v1::SubmitAnalysisRequest& request,
                                               const std::string& part_of = "");
  absl::StatusOr<trenode::v1::Analysis> Get(const auth::Principal& caller,
                                            const std::string& analysis_id);
  absl::StatusOr<trenode::v1::ListAnalysesResponse> List(
      const auth::Principal& caller, const trenode::v1::ListAnalysesRequest& request);
  absl::StatusOr<trenode::v1::Analysis> Cancel(const auth::Principal& caller,
                                               const trenode::v1::AnalysisDecisionRequest& request);
  absl::StatusOr<trenode::v1::Analysis> Approve(
      const auth::Principal& caller, const trenode::v1::AnalysisDecisionRequest& request);
  absl::StatusOr<trenode::v1::Analysis> Reject(const auth::Principal& caller,
                                               const trenode::v1::AnalysisDecisionRequest& request);

  // Checks and keeps a script bundle for `project_id`; the uploader must be
  // able to use the project and the datasets its manifest names.
  absl::StatusOr<trenode::v1::Bundle> UploadBundle(const auth::Principal& caller,
                                                   const std::string& project_id,
                                                   absl::string_view archive);
  // A researcher sees only bundles they uploaded (NotFound otherwise), without
  // another uploader's name or approvals for projects they did not upload it
  // for.
  absl::StatusOr<trenode::v1::Bundle> GetBundle(const auth::Principal& caller,
                                                const std::string& sha256);
  // The bundles uploaded for projects (spec/analyses.md, "Script jobs"): all
  // of them for stewards, checkers, auditors and admins; a researcher's own.
  absl::StatusOr<trenode::v1::ListBundlesResponse> ListBundles(
      const auth::Principal& caller, const trenode::v1::ListBundlesRequest& request);
  absl::StatusOr<trenode::v1::Bundle> ApproveBundle(
      const auth::Principal& caller, const trenode::v1::ApproveBundleRequest& request);
  const BundleLimits& bundle_limits() const { return bundle_limits_; }

  // Calls `write` with every event of the analysis from `from_sequence`, then
  // with each new one, until the analysis is final and all its events are
  // written, `write` returns false, or `cancelled()` returns true.
  absl::Status Watch(const auth::Principal& caller,
                     const trenode::v1::WatchAnalysisRequest& request,
                     const std::function<bool(const trenode::v1::AnalysisEvent&)>& write,
                     const std::function<bool()>& cancelled);

  // --- For the AnalysisRunner: the node itself acts. ---

  // Moves analysis `id` by `action` from its current state, applying
  // `change` to the record first; FailedPrecondition if the table has no
  // such arrow from the current state (e.g. it was cancelled meanwhile).
  absl::StatusOr<trenode::v1::Analysis> Advance(
      const std::string& id, AnalysisAction action, const std::string& reason,
      const std::function<void(trenode::v1::Analysis&)>& change = nullptr);
  // Fails analysis `id` with `reason`, a sentence of the fixed vocabulary
  // researchers are shown (spec/analyses.md, "Failures"); `detail` is kept
  // in failure_detail for the node's staff and written to the node's own log.
  absl::StatusOr<trenode::v1::Analysis> Fail(
      const std::string& id, const std::string& reason, absl::string_view detail,
      const std::function<void(trenode::v1::Analysis&)>& change = nullptr);
  // Routes a submitted analysis to a steward or approves it by policy.
  absl::StatusOr<trenode::v1::Analysis> Route(const trenode::v1::Analysis& analysis);
  // The start gate: the submitter may still use the analysis's datasets in
  // its project (Governance::CheckDataAccess).
  absl::Status CheckStartGate(const trenode::v1::Analysis& analysis);
  // Records an event about an analysis on behalf of the node.
  absl::Status RecordNodeEvent(const trenode::v1::Analysis& analysis, const std::string& action,
                               const std::string& outcome, const std::string& reason);

  // Called after an analysis is cancelled, to stop whatever runs it; every
  // hook added is called, in order. Add hooks before serving.
  void AddCancelHook(std::function<void(const trenode::v1::Analysis&)> hook) {
    cancel_hooks_.push_back(std::move(hook));
  }
  // Called with the analysis after the node has moved it to succeeded (by
  // Advance, its record appended), on the thread that moved it; a hook must
  // not block. Every hook added is called, in order. Add hooks before serving.
  void AddSuccessHook(std::function<void(const trenode::v1::Analysis&)> hook) {
    success_hooks_.push_back(std::move(hook));
  }
  // Called with the analysis as changed whenever WaitForChange's waiters
  // are woken (after any analysis changes), possibly while a transition is
  // being made; a hook must not block or call back into this object. Add
  // hooks before serving.
  void AddChangeHook(std::function<void(const trenode::v1::Analysis&)> hook) {
    change_hooks_.push_back(std::move(hook));
  }

  // The charging check of every submission (null: none). Set before
  // serving.
  void SetAdmission(Admission* admission) { admission_ = admission; }
  // What the request would cost if submitted now: the submission's checks
  // (governance, body), then the admission's estimate, recorded as
  // "analysis.estimate" in the activity log. FailedPrecondition without an
  // admission.
  absl::StatusOr<trenode::v1::Estimate> Estimate(const auth::Principal& caller,
                                                 const trenode::v1::SubmitAnalysisRequest& request);

  // Checks a federated submission's `nodes` (each a partner of this node or
  // this node itself). Without one, federated submissions are refused. Set
  // before serving.
  using SiteCheck = std::function<absl::Status(const std::vector<std::string>& nodes)>;
  void SetSiteCheck(SiteCheck check) { site_check_ = std::move(check); }

  // Changes analysis `id`'s record by `change` without changing its state
  // (a federated analysis's site statuses), as the node: watchers get an
  // event in the same state with `reason`, and the log an "analysis.note".
  absl::StatusOr<trenode::v1::Analysis> Annotate(
      const std::string& id, const std::string& reason,
      const std::function<void(trenode::v1::Analysis&)>& change);

  // The changes a waiter is woken for. kAll: every change. kRunnable: an
  // analysis entering approved or queued, and any change of a script's
  // analysis (its job may need submitting, polling or cancelling).
  // kFederated: any change of an analysis sent to other nodes. Waiters for
  // one kind are not woken by the others' changes.
  enum class Changes { kAll, kRunnable, kFederated };
  // Blocks until a change of kind `changes` after `generation` (a value
  // this returned, or generation(changes)) or until `timeout` passes;
  // returns that kind's current generation.
  int64_t WaitForChange(int64_t generation, absl::Duration timeout,
                        Changes changes = Changes::kAll);
  int64_t generation(Changes changes = Changes::kAll) const;

 private:
  // For streams: Unauthenticated once the caller's credential has expired;
  // for researchers, the governance status once they may no longer use the
  // analysis's project (suspended, closed, expired, membership revoked).
  absl::Status CheckStillAllowed(const auth::Principal& caller,
                                 const trenode::v1::Analysis& analysis);
  // Researchers see only what they submitted; other roles see everything.
  absl::Status CheckCanSee(const auth::Principal& caller, const trenode::v1::Analysis& analysis);
  // What `caller` is shown: researchers, and anyone involved in the project
  // whatever their role, never see results or evidence; stewards see results
  // without evidence (spec/analyses.md, "Who sees what").
  trenode::v1::Analysis ViewFor(const auth::Principal& caller, trenode::v1::Analysis analysis);
  absl::StatusOr<trenode::v1::Analysis> Apply(
      const auth::Principal& actor, const std::string& actor_id, const std::string& id,
      AnalysisAction action, const std::string& reason,
      const std::function<void(trenode::v1::Analysis&)>& change);
  absl::StatusOr<trenode::v1::Analysis> Decide(const auth::Principal& caller,
                                               const trenode::v1::AnalysisDecisionRequest& request,
                                               AnalysisAction action);
  // Datasets the request reads, each checked to exist and be active, with
  // the query compiled against them or the bundle found.
  // A federated submission's own checks (nodes, kind, deadline).
  absl::Status CheckFederated(const auth::Principal& caller,
                              const trenode::v1::SubmitAnalysisRequest& request);
  // The analysis a checked request would record (id, submitter, body,
  // datasets, state submitted at `now`).
  trenode::v1::Analysis NewAnalysis(const std::string& person,
                                    const trenode::v1::SubmitAnalysisRequest& request,
                                    const std::vector<std::string>& dataset_ids, absl::Time now);
  absl::StatusOr<std::vector<std::string>> CheckBody(
      const trenode::v1::SubmitAnalysisRequest& request);
  // NotFound, the same for a retired dataset as for an unknown one, unless
  // every dataset exists and is active.
  absl::Status CheckDatasetsActive(const std::vector<std::string>& dataset_ids);
  auth::Principal NodePrincipal() const;
  // `bundle` as `caller` may see it (GetBundle's contract).
  absl::StatusOr<trenode::v1::Bundle> BundleViewFor(const auth::Principal& caller,
                                                    trenode::v1::Bundle bundle);
  // `bundle` as the researcher `person` may see it, who proposed it for
  // `own_projects` (BundleViewFor's contract for researchers).
  static absl::StatusOr<trenode::v1::Bundle> ResearchersView(
      const std::string& person, const std::vector<std::string>& own_projects,
      trenode::v1::Bundle bundle);
  // Analysis::queue_position of `analysis` now.
  absl::StatusOr<int> QueuePosition(const trenode::v1::Analysis& analysis);
  void NotifyChanged(const trenode::v1::Analysis& analysis);

  AnalysisStore* store_;
  governance::Governance* governance_;
  governance::GovernanceStore* projects_;
  catalogue::CatalogueStore* datasets_;
  adapters::ObjectStore* objects_;
  BundleLimits bundle_limits_;
  query::CompileLimits compile_limits_;
  std::vector<std::function<void(const trenode::v1::Analysis&)>> cancel_hooks_;
  std::vector<std::function<void(const trenode::v1::Analysis&)>> success_hooks_;
  std::vector<std::function<void(const trenode::v1::Analysis&)>> change_hooks_;
  SiteCheck site_check_;
  Admission* admission_ = nullptr;
  // Held from a submission's admission check until it is stored.
  absl::Mutex admission_mu_;
  std::string node_id_;
  Clock clock_;
  log::EventSink* events_;

  // Serializes transitions: store update and log record together.
  absl::Mutex transition_mu_;
  mutable absl::Mutex mu_;
  static constexpr size_t kKindsOfChange = 3;
  // By Changes: how many of that kind there have been, and their waiters.
  std::array<absl::CondVar, kKindsOfChange> changed_;
  std::array<int64_t, kKindsOfChange> generation_ ABSL_GUARDED_BY(mu_) = {};
};

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_ANALYSES_H_
