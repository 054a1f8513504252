// Contributions: a partner's side of federated analyses. A partner node asks
// for a query to be run for one of its researchers; this node treats that
// person as subject@partner, acting via the partner, and from there on
// everything is this node's own: the analysis is submitted, approved, queued
// and run as any other, and its output leaves only through this node's
// release workflow (created and submitted for the person as soon as the
// analysis succeeds, on this object's own thread, or at the latest when the
// home node next asks: auto-released where the project's policy allows,
// otherwise held for this node's checkers). Knows nothing of gRPC.
// Thread-safe.
#ifndef TRENODE_FEDERATION_CONTRIBUTIONS_H_
#define TRENODE_FEDERATION_CONTRIBUTIONS_H_

#include <deque>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/object_store.h"
#include "node/analyses/analyses.h"
#include "node/analyses/analysis_store.h"
#include "node/auth/principal.h"
#include "node/governance/governance_store.h"
#include "node/log/event_sink.h"
#include "node/releases/release_store.h"
#include "node/releases/releases.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::federation {

class Contributions {
 public:
  // Everything given must outlive this object. Adds a success hook and a
  // change hook to `analyses`, and starts the thread that moves the
  // releases of succeeded contributions along.
  // `events` is flushed before each answer of Submit, Get and Cancel: a
  // partner is told where its part stands only once the records of the
  // changes that brought it there are durable, though the node's own
  // threads that made them did not wait for them.
  Contributions(std::string node_id, analyses::Analyses* analyses,
                analyses::AnalysisStore* analysis_store, releases::Releases* releases,
                releases::ReleaseStore* release_store, governance::GovernanceStore* projects,
                adapters::ObjectStore* objects, log::EventSink* events);
  ~Contributions() { Stop(); }
  // Stops the thread and gives held answers at once; from then on nothing
  // is held, and contributions not yet moved along are moved when the home
  // node next asks.
  void Stop();

  // The person a partner's request is about: subject@partner, a researcher
  // acting via the partner. InvalidArgument for a subject that is not
  // 1-255 printable ASCII characters without spaces or "@".
  static absl::StatusOr<auth::Principal> PersonOf(const auth::Principal& partner,
                                                  const std::string& subject);

  // `person` is a researcher: of a partner (PersonOf), or of this node when
  // it is itself one of a federated analysis's nodes. Submits the query as
  // the person (or finds the earlier submission of the same request id) and
  // says where it stands. This node's refusals (no such project here, not a
  // member, not trained, dataset not approved) are returned as errors with
  // this node's reason.
  //
  // `part_of`: the home node's own part of its federated analysis
  // `part_of`, already approved here: the part, the same query by the same
  // person in the same project, is approved with it rather than again
  // ("policy:part-of-federated-analysis <id>").
  absl::StatusOr<trenode::v1::Contribution> Submit(
      const auth::Principal& person, const trenode::v1::SubmitContributionRequest& request,
      const trenode::v1::Analysis* part_of = nullptr);
  // Where the contribution stands, moving its release along: created once
  // the analysis succeeded, submitted once prepared. Released files are
  // read as the person's downloads (each counted and logged).
  //
  // With `wait` and a `known_state`: while the contribution is still in
  // `known_state`, holds the answer up to `wait` (at most kMaxWait) for it
  // to change — woken by any change of this node's analyses and by this
  // object's own release moves; a checker's decision is heard of at the
  // end of the wait. Answers at once when kMaxHeld answers are held already.
  absl::StatusOr<trenode::v1::Contribution> Get(
      const auth::Principal& person, const std::string& request_id,
      trenode::v1::ContributionState known_state = trenode::v1::CONTRIBUTION_STATE_UNSPECIFIED,
      absl::Duration wait = absl::ZeroDuration());
  static constexpr absl::Duration kMaxWait = absl::Seconds(2);
  static constexpr int kMaxHeld = 16;
  absl::StatusOr<trenode::v1::Contribution> Cancel(const auth::Principal& person,
                                                   const std::string& request_id);

 private:
  // The dataset the query runs against here: `named` if the project is
  // approved for it here, otherwise the project's one approved dataset.
  absl::StatusOr<std::string> DatasetFor(const std::string& project_id, const std::string& named);
  absl::StatusOr<trenode::v1::Analysis> Find(const auth::Principal& person,
                                             const std::string& request_id);
  // Where `analysis` stands, moving its release along; with the released
  // files if `with_files`.
  absl::StatusOr<trenode::v1::Contribution> Describe(const auth::Principal& person,
                                                     const trenode::v1::Analysis& analysis,
                                                     bool with_files = true);

  // The thread's loop: creates and submits the release of each succeeded
  // contribution handed over by the success hook.
  void MoveAlong();
  // Wakes held answers.
  void Changed();

  std::string node_id_;
  analyses::Analyses* analyses_;
  analyses::AnalysisStore* analysis_store_;
  releases::Releases* releases_;
  releases::ReleaseStore* release_store_;
  governance::GovernanceStore* projects_;
  adapters::ObjectStore* objects_;
  log::EventSink* events_;

  absl::Mutex mu_;
  // Ids of succeeded contributions whose release is still to be moved along.
  std::deque<std::string> succeeded_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Counts changes that may move a contribution on; held answers wait for it.
  int64_t changes_ ABSL_GUARDED_BY(mu_) = 0;
  int held_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread mover_;
};

// The person who submitted `analysis` at node `this_node`, as Submit was
// given them: a partner's researcher (subject@partner, via the partner) or
// this node's own (for its part of its own federated analysis).
auth::Principal SubmitterOf(const trenode::v1::Analysis& analysis, const std::string& this_node);

// What a contribution is, given its analysis here and its latest release
// (if any), without files. `for_partner_at`: this node's id when a
// partner's researcher is told; the free text of this node's stewards and
// checkers (a rejection's, a revocation's, a cancellation's reason) is then
// left out, and the reason says what happened at which node.
trenode::v1::Contribution ContributionOf(const trenode::v1::Analysis& analysis,
                                         const std::optional<trenode::v1::Release>& release,
                                         const std::string& for_partner_at = "");

// The start of the reason of a contribution cancelled by its home node.
inline constexpr char kCancelledAtHome[] = "cancelled at its home node ";

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_CONTRIBUTIONS_H_
