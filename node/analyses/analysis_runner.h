// AnalysisRunner: takes approved analyses through the start gate and runs
// them (spec/analyses.md, "Running" and "Restart"). Aggregate queries run in
// the node against a read-only connection to the dataset file; script jobs
// run on the ComputeBackend, and their declared outputs are kept in the
// ObjectStore for output release. One worker thread; every step is a
// transition of the Analyses state machine, and a script's backend job id is
// stored before the job is submitted, so a crash at any point leaves a state
// that Reconcile() settles without running anything twice.
#ifndef TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_
#define TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "adapters/compute_backend.h"
#include "adapters/object_store.h"
#include "node/analyses/analyses.h"
#include "node/analyses/analysis_store.h"
#include "node/catalogue/catalogue_store.h"

namespace trenode::analyses {

// Why a query that was running when the node stopped is failed, not rerun.
inline constexpr char kInterruptedReason[] =
    "interrupted by a node restart while running; analyses never run twice, so submit it "
    "again with a new request id";

// Where an analysis's kept output `name` is stored.
std::string OutputObjectKey(const std::string& analysis_id, const std::string& name);

struct ScriptRunning {
  // Null: this node runs no script jobs (they fail at start, saying so).
  adapters::ComputeBackend* backend = nullptr;
  adapters::ObjectStore* objects = nullptr;  // bundles in, outputs out
  std::string jobs_dir;                      // where bundles are unpacked for their jobs
  adapters::ComputeLimits limits;
};

class AnalysisRunner {
 public:
  // The local file of a dataset's SQLite data.
  using DatasetPath = std::function<absl::StatusOr<std::string>(const trenode::v1::Dataset&)>;

  // Everything given must outlive the runner.
  AnalysisRunner(Analyses* analyses, AnalysisStore* store, catalogue::CatalogueStore* datasets,
                 DatasetPath dataset_path, ScriptRunning scripts = {});
  ~AnalysisRunner() { Stop(); }

  // Settles what an earlier run left unfinished: routes submitted analyses,
  // runs queued queries (they never started), fails running queries with
  // kInterruptedReason. Script jobs are left to PollJobs(), which asks the
  // backend. Call before serving.
  absl::Status Reconcile();
  // Starts the worker thread, which runs approved analyses as they come and
  // follows script jobs.
  void Start();
  void Stop();
  // Runs (or submits) every approved analysis now, one after another.
  void RunApproved();
  // Follows every queued and running script job one step, collecting what
  // ended; cleans up after cancelled jobs.
  void PollJobs();

 private:
  void Run(trenode::v1::Analysis analysis);
  void Execute(const trenode::v1::Analysis& analysis);
  absl::StatusOr<trenode::v1::AggregateResult> RunQuery(const trenode::v1::Analysis& analysis);
  // Unpacks the bundle and submits the job; Unavailable leaves it queued.
  absl::Status SubmitJob(const trenode::v1::Analysis& analysis);
  void Collect(const trenode::v1::Analysis& analysis, const adapters::JobStatus& job);
  // Copies the declared outputs from the outbox into the ObjectStore.
  absl::StatusOr<trenode::v1::ScriptOutcome> KeepOutputs(const trenode::v1::Analysis& analysis,
                                                         const adapters::JobStatus& job);
  void Forget(const trenode::v1::Analysis& analysis);
  void DiscardOutputs(const trenode::v1::Analysis& analysis, const std::string& why);

  Analyses* analyses_;
  AnalysisStore* store_;
  catalogue::CatalogueStore* datasets_;
  DatasetPath dataset_path_;
  ScriptRunning scripts_;
  std::atomic<bool> stopping_{false};
  std::thread worker_;
  absl::Mutex mu_;
  // Cancelled analyses whose jobs are to be removed once they have stopped.
  std::map<std::string, trenode::v1::Analysis> cancelled_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_
