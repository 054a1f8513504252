// Coordinator: the home node's side of federated analyses. A federated
// analysis is approved and queued at home like any query; the coordinator
// then starts it (not a query worker), sends it to each of its nodes — a
// partner over PartnerCaller, this node itself through Contributions — asks
// each where its contribution stands until every node has a final answer or
// the analysis's deadline passes, and ends the analysis with the pooled
// result of the nodes that answered (pooling.h). A released contribution's
// files are pooled from memory when the analysis ends on the pass they
// arrive in; otherwise they are kept in the object store
// (federation/<analysis>/<node>/<file>) before the site is recorded as
// answered, so a site recorded answered always has its files there.
// Site statuses are written to the analysis as they change. Cancelling the
// analysis cancels it at every node that accepted it. Knows nothing of gRPC.
// Thread-safe.
#ifndef TRENODE_FEDERATION_COORDINATOR_H_
#define TRENODE_FEDERATION_COORDINATOR_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/object_store.h"
#include "federation/contributions.h"
#include "federation/partner_caller.h"
#include "federation/partner_directory.h"
#include "node/analyses/analyses.h"
#include "node/analyses/analysis_store.h"
#include "node/releases/differencing_guard.h"
#include "node/releases/release_store.h"

namespace trenode::federation {

class Coordinator {
 public:
  struct Options {
    // How often running federated analyses are looked at.
    absl::Duration poll = absl::Milliseconds(5);
    // Each call to a node, at most.
    absl::Duration call_deadline = absl::Seconds(5);
    // How long a node may hold its answer to an ask for its part to move on
    // (ContributionRef.wait_ms); zero: answered at once.
    absl::Duration hold = absl::Seconds(1);
  };

  // Everything given must outlive the coordinator. Adds a cancel hook to
  // `analyses`. `releases` is read (never changed) to check a visible part
  // against the project's standing releases before it is shown.
  Coordinator(std::string node_id, analyses::Analyses* analyses, analyses::AnalysisStore* store,
              releases::ReleaseStore* releases, const PartnerDirectory* partners, PartnerCaller* caller, Contributions* here,
              adapters::ObjectStore* objects, Options options);
  ~Coordinator() { Stop(); }

  // Checks `nodes` of a submission: each a partner or this node.
  absl::Status CheckSites(const std::vector<std::string>& nodes) const;

  void Start();
  // Stops, after the asks under way have been answered (each at most a
  // call's deadline).
  void Stop();
  // One pass: starts queued federated analyses, sets off asking the nodes of
  // running ones that are due (each analysis on a thread of its own, at most
  // kAtOnce at a time, so that one analysis's nodes, which may hold their
  // answers for a while, hold up no other), and sends cancellations. An
  // ask ends the analysis once its nodes have all answered or its deadline
  // has passed.
  void Step();

  static constexpr size_t kAtOnce = 8;

 private:
  // The analysis once started; nullopt if it was not.
  std::optional<trenode::v1::Analysis> Begin(const trenode::v1::Analysis& analysis);
  // Sets off asking `analysis`'s nodes on a thread of its own.
  void StartAsking(const trenode::v1::Analysis& analysis);
  // Joins the askers that are done; paces their analyses by what they found.
  void CollectAskers();
  // Asks the analysis's unfinished nodes once; true if a status changed.
  bool Progress(const trenode::v1::Analysis& analysis);
  // A released contribution's files, by file name.
  using Files = std::map<std::string, std::string>;
  // The site's status after asking its node once; a site that answered
  // now has its checked files in `arrived`.
  trenode::v1::SiteStatus Ask(const trenode::v1::Analysis& analysis,
                              const trenode::v1::SiteStatus& site, absl::Duration deadline,
                              Files* arrived);
  // A released contribution's files, checked; FailedPrecondition for a file
  // that is not one of the query's outputs, does not match its hash, or
  // would not pool.
  absl::StatusOr<Files> Check(const trenode::v1::Analysis& analysis, const std::string& node_id,
                              const trenode::v1::Contribution& answer);
  // Writes checked files to the object store (each durable on success).
  absl::Status Keep(const trenode::v1::Analysis& analysis, const std::string& node_id,
                    const Files& files);
  // Ends the analysis: pools the answered sites' files, those in `arrived`
  // (by node, this pass's) from memory and the others from the store.
  void Finish(const trenode::v1::Analysis& analysis, std::vector<trenode::v1::SiteStatus> sites,
              const std::map<std::string, Files>& arrived);
  void CancelAt(const trenode::v1::Analysis& analysis);
  // The request id of the analysis's part at `node_id` (this node's own part
  // has its own, kHereSuffix).
  std::string PartRequestId(const trenode::v1::Analysis& analysis,
                            const std::string& node_id) const;
  // Tells `node_id` to cancel the analysis's part there.
  absl::StatusOr<trenode::v1::Contribution> CancelPart(const trenode::v1::Analysis& analysis,
                                                       const auth::Principal& person,
                                                       const std::string& node_id);
  // The researcher, as this node knows them.
  auth::Principal Researcher(const trenode::v1::Analysis& analysis) const;

  std::string node_id_;
  analyses::Analyses* analyses_;
  analyses::AnalysisStore* store_;
  releases::ReleaseStore* releases_;
  const PartnerDirectory* partners_;
  PartnerCaller* caller_;
  Contributions* here_;
  adapters::ObjectStore* objects_;
  Options options_;
  releases::StandingReader standing_{*releases_, *store_};  // after releases_ and store_
  std::atomic<bool> stopping_{false};
  // Set when a federated analysis changes here: Step reads the running ones
  // again only then, or when one is due to be asked.
  std::atomic<bool> federated_changed_{true};
  std::thread worker_;
  absl::Mutex mu_;
  // Cancelled federated analyses whose nodes are still to be told.
  std::vector<trenode::v1::Analysis> to_cancel_ ABSL_GUARDED_BY(mu_);
  // Set when a federated analysis is queued here: it ends the pause
  // between two steps.
  bool queued_ ABSL_GUARDED_BY(mu_) = false;
  // When each running analysis's nodes are next asked, and the wait after
  // that: half again (up to 5 s) while nothing changes, so that quiet nodes
  // are not polled hard for days. Only the coordinator's thread uses it.
  struct Pace {
    absl::Time next = absl::InfinitePast();
    absl::Duration wait = absl::ZeroDuration();
  };
  std::map<std::string, Pace> pace_;
  // The analyses whose nodes are being asked, each by a thread of its own.
  // Only the coordinator's thread uses the map; `done` and `changed` are
  // the asker's, read once `done`.
  struct Asker {
    trenode::v1::Analysis analysis;
    std::thread thread;
    std::atomic<bool> done{false};
    bool changed = false;
  };
  std::map<std::string, std::unique_ptr<Asker>> askers_;
};

// What a node's answer makes of a site's status (pure; for tests).
trenode::v1::SiteStatus::State SiteStateOf(trenode::v1::ContributionState state);

// The object key of a kept contribution file.
std::string ContributionKey(const std::string& analysis_id, const std::string& node_id,
                            const std::string& file);

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_COORDINATOR_H_
