// Releases: the output-release workflow (spec/releases.md). A requester
// opens a release for a succeeded analysis; the node builds its files with
// automated verdicts; files failing a hard gate are withheld (all failing:
// the release is blocked), the project's auto-release policy
// may approve passing aggregate outputs, and otherwise a quorum of distinct
// output checkers (never the requester) reviews every file; files any of them
// rejects are withheld and the rest are released. Release
// copies the files to the egress area and logs each one's SHA-256; the
// requester's downloads are counted and capped; revocation stops them.
// Knows nothing of gRPC or SQLite. Thread-safe if its stores are.
#ifndef TRENODE_NODE_RELEASES_RELEASES_H_
#define TRENODE_NODE_RELEASES_RELEASES_H_

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "adapters/object_store.h"
#include "node/charging/storage_ledger.h"
#include "node/analyses/analysis_store.h"
#include "node/auth/principal.h"
#include "node/disclosure/policy.h"
#include "node/governance/governance.h"
#include "node/governance/governance_store.h"
#include "node/log/event_sink.h"
#include "node/releases/differencing_guard.h"
#include "node/releases/ledger_store.h"
#include "node/releases/release_files.h"
#include "node/releases/release_state.h"
#include "node/releases/release_store.h"

namespace trenode::releases {

struct ReleaseOptions {
  int quorum = 2;  // at least 1
  // The node's policy, unless a project's approval names its own.
  disclosure::Policy policy;
  std::string policy_description = "acro";
  HardGates gates;
  int max_downloads = 10;
  // The node's own transitions (preparing -> draft) are recorded as it.
  std::string node_id;
  // How long CreateRelease waits for the files before answering "preparing".
  absl::Duration prepare_wait = absl::Seconds(2);
  // The time suppression and its audits may take for one release's tables.
  absl::Duration protection_time = absl::Seconds(20);
};

// Where a release's files wait for review, and where released ones are.
std::string ReviewObjectKey(const std::string& release_id, const std::string& file);
std::string EgressObjectKey(const std::string& release_id, const std::string& file);

class Releases {
 public:
  using Clock = std::function<absl::Time()>;

  // Everything given must outlive this object.
  Releases(ReleaseStore* store, LedgerStore* ledger, analyses::AnalysisStore* analyses,
           governance::GovernanceStore* projects, governance::Governance* governance,
           adapters::ObjectStore* objects, ReleaseOptions options, Clock clock = &absl::Now,
           log::EventSink* events = nullptr);
  // Stops the preparer; a release it was building stays preparing and is
  // built again by the next Start.
  ~Releases();
  Releases(const Releases&) = delete;
  Releases& operator=(const Releases&) = delete;

  // Queues every release left preparing and starts the preparer, which
  // builds releases' files one at a time. Call once, before serving.
  absl::Status Start();

  // Records a release in state preparing and queues it; answers with it as
  // soon as it is a draft (or withdrawn), or after options.prepare_wait.
  absl::StatusOr<trenode::v1::Release> Create(const auth::Principal& caller,
                                              const trenode::v1::CreateReleaseRequest& request);
  absl::StatusOr<trenode::v1::Release> Submit(const auth::Principal& caller,
                                              const std::string& release_id);
  absl::StatusOr<trenode::v1::Release> Get(const auth::Principal& caller,
                                           const std::string& release_id);
  absl::StatusOr<trenode::v1::ListReleasesResponse> List(
      const auth::Principal& caller, const trenode::v1::ListReleasesRequest& request);
  absl::StatusOr<trenode::v1::Release> Review(const auth::Principal& caller,
                                              const trenode::v1::ReviewReleaseRequest& request);
  absl::StatusOr<trenode::v1::Release> Withdraw(const auth::Principal& caller,
                                                const std::string& release_id,
                                                const std::string& reason);
  absl::StatusOr<trenode::v1::Release> Revoke(const auth::Principal& caller,
                                              const std::string& release_id,
                                              const std::string& reason);
  // What to send: the object, and the SHA-256 its bytes must have (the
  // reviewed file's).
  struct DownloadTarget {
    std::string key;
    std::string sha256;
    // Whose egress it is, if it is charged (a released file to its
    // requester; not a checker's inspection of a review copy).
    std::string project_id;
    std::string release_id;
    std::string file;
    bool egress = false;
  };
  // Checks that `caller` may have `file` now and records the download (the
  // requester's are counted against the cap); returns what to send.
  absl::StatusOr<DownloadTarget> StartDownload(const auth::Principal& caller,
                                               const std::string& release_id,
                                               const std::string& file);
  // After a download: `bytes_sent` bytes of `target` left the node (as
  // many as were sent, the whole file or the part before the client went
  // away). For a charged target, recorded as the project's egress with a
  // "usage.egress" activity-log event in the same transaction; nothing for
  // an inspection, or without a storage ledger.
  absl::Status FinishDownload(const auth::Principal& caller, const DownloadTarget& target,
                              int64_t bytes_sent);

  // Where the project's review and released copies are recorded while
  // stored, and its egress (spec/charging.md, "Storage and egress"); null:
  // not metered. Set before Start; it must outlive this object.
  void set_storage(charging::StorageLedger* storage) { storage_ = storage; }

  // OK if `bytes` more may be kept for `project_id` (its storage quota);
  // ResourceExhausted saying why not, with `what` ("release r1") and
  // `needed_for` (what the bytes are for) in the message.
  using StorageQuota = std::function<absl::Status(const std::string& project_id, int64_t bytes,
                                                  absl::string_view what,
                                                  absl::string_view needed_for)>;
  // Checked when a release's files are built, before any copy is written:
  // its review copies and the released copies they may become
  // (spec/charging.md, "Storage quota"). Unset: no quota. Set before Start.
  void set_storage_quota(StorageQuota quota) { storage_quota_ = std::move(quota); }

 private:
  // The helpers below run with mu_ held (every public change takes it first).
  absl::StatusOr<trenode::v1::Release> Apply(
      const auth::Principal& actor, const std::string& release_id, ReleaseAction action,
      const std::string& reason,
      const std::function<absl::Status(trenode::v1::Release&)>& change = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies every file to the egress area (logging its hash) and moves an
  // approved release to released.
  absl::StatusOr<trenode::v1::Release> Publish(const auth::Principal& actor,
                                               const trenode::v1::Release& release)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Researchers see only their own releases.
  absl::Status CheckCanSee(const auth::Principal& caller, const trenode::v1::Release& release);
  // Whether `caller` sees `release` as its requester does: researchers, and
  // the requester or anyone involved in the project whatever their role.
  bool SeesAsRequester(const auth::Principal& caller, const trenode::v1::Release& release);
  // `release` as `caller` may see it (spec/releases.md, "Who sees what").
  trenode::v1::Release ViewFor(const auth::Principal& caller, trenode::v1::Release release);
  // FailedPrecondition unless the requester may still use the project
  // (approved, not suspended or expired, still a trained member).
  absl::Status CheckRequesterAccess(const trenode::v1::Release& release, absl::string_view step);
  // The project's disclosure policy and its description ("acro (threshold=5)").
  absl::StatusOr<std::pair<disclosure::Policy, std::string>> PolicyOf(
      const std::string& project_id);
  // For a query's release, pooled (the nodes that answered) or local (the
  // home node alone): each file whose output, with the outputs of the same
  // question standing in the project (StandingOutputs), would let a node
  // that is shown only pooled be solved for; with why (spec/federation.md).
  absl::StatusOr<std::map<std::string, std::string>> PooledDifferencing(
      const trenode::v1::Analysis& analysis, const trenode::v1::Release& release)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<trenode::v1::Release> SubmitLocked(const auth::Principal& caller,
                                                    const std::string& release_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RecordFile(const auth::Principal& actor, const trenode::v1::Release& release,
                          const std::string& action, const trenode::v1::ReleaseFile& file);
  // FailedPrecondition unless `analysis` has something to offer: outputs,
  // or with include_logs a job log not named like one of its outputs.
  absl::Status CheckOffered(const trenode::v1::Analysis& analysis, bool include_logs);
  // The candidate files of `analysis` under `policy`.
  absl::StatusOr<std::vector<CandidateFile>> BuildFiles(const trenode::v1::Analysis& analysis,
                                                        bool include_logs,
                                                        const disclosure::Policy& policy);
  // Builds a preparing release's files and makes it a draft, or withdraws it
  // saying why they could not be built. OK if it is no longer preparing.
  absl::Status Prepare(const std::string& release_id);
  void PrepareInBackground();
  auth::Principal NodePrincipal() const;

  ReleaseStore* store_;
  LedgerStore* ledger_;
  analyses::AnalysisStore* analyses_;
  governance::GovernanceStore* projects_;
  governance::Governance* governance_;
  adapters::ObjectStore* objects_;
  ReleaseOptions options_;
  Clock clock_;
  log::EventSink* events_;
  charging::StorageLedger* storage_ = nullptr;
  StorageQuota storage_quota_;
  StandingReader standing_{*store_, *analyses_};  // after store_ and analyses_
  // Serializes changes of existing releases (store update and log record
  // together); Create needs none, the store keeping one release per analysis.
  absl::Mutex mu_;

  // Releases to prepare, the first being prepared; creating_ counts
  // CreateRelease calls between the capacity check and the queue.
  absl::Mutex queue_mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(queue_mu_);
  size_t creating_ ABSL_GUARDED_BY(queue_mu_) = 0;
  // Releases whose Create waits for them to be prepared, and of those the
  // ones the storage quota withdrew: the refusal Create answers with.
  std::set<std::string> awaited_ ABSL_GUARDED_BY(queue_mu_);
  std::map<std::string, absl::Status> quota_refusals_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread preparer_;
};

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_RELEASES_H_
