// AnalysisRunner: takes approved analyses through the start gate and runs
// them (spec/analyses.md, "Running" and "Restart"). Aggregate queries run in
// the node against a read-only connection to the dataset file; script jobs
// run on the ComputeBackend, and their declared outputs are kept in the
// ObjectStore for output release. One thread routes approved analyses and
// follows script jobs; a few query workers run queued queries, each within a
// wall-clock limit and stopped at once if it is cancelled. Every step is a
// transition of the Analyses state machine (a worker starts a query only by
// moving it from queued to running), and a script's backend job id is stored
// before the job is submitted, so a crash at any point leaves a state that
// Reconcile() settles without running anything twice.
#ifndef TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_
#define TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "adapters/compute_backend.h"
#include "adapters/object_store.h"
#include "node/analyses/analyses.h"
#include "node/analyses/analysis_store.h"
#include "node/catalogue/catalogue_store.h"
#include "node/charging/prices.h"
#include "node/charging/storage_ledger.h"
#include "node/query/dataset_connections.h"
#include "node/query/person_codes.h"
#include "node/query/runner.h"

namespace trenode::analyses {

// Why a query that was running when the node stopped is failed, not rerun.
inline constexpr char kInterruptedReason[] =
    "interrupted by a node restart while running; analyses never run twice, so submit it "
    "again with a new request id";

// Where an analysis's kept output `name` is stored.
std::string OutputObjectKey(const std::string& analysis_id, const std::string& name);

struct QueryRunning {
  int workers = 2;                          // queries at once, at least 1
  // Queries of one project at once; 0: workers - 1 (at least 1). A worker
  // takes the first queued query whose project is below it.
  int per_project = 0;
  absl::Duration wall = absl::Minutes(10);  // each query, start to end
  query::CompileLimits limits;
  // The person codes of dataset versions; null: the runner keeps its own,
  // from an in-memory registry.
  query::PersonCodesCache* codes = nullptr;
  // Each query's connection to its dataset: SQLite's page cache, and how
  // much of the file it reads through a memory map (shared by every query
  // of the file through the OS page cache).
  int64_t cache_bytes = int64_t{64} << 20;
  int64_t mmap_bytes = int64_t{1} << 30;
};

struct ScriptRunning {
  // Null: this node runs no script jobs (they fail at start, saying so).
  adapters::ComputeBackend* backend = nullptr;
  adapters::ObjectStore* objects = nullptr;  // bundles in, outputs out
  std::string jobs_dir;                      // where bundles are unpacked for their jobs
  adapters::ComputeLimits limits;
  // The price table row its jobs are charged by (spec/charging.md):
  // "sandbox", "slurm", "aws-batch", "azure-batch".
  std::string backend_name = "sandbox";
  // Where the outputs kept for each project are recorded while stored
  // (spec/charging.md, "Storage and egress"); null: not metered.
  charging::StorageLedger* storage = nullptr;
};

class AnalysisRunner {
 public:
  // The local file of a dataset's SQLite data.
  using DatasetPath = std::function<absl::StatusOr<std::string>(const trenode::v1::Dataset&)>;

  // Everything given must outlive the runner.
  AnalysisRunner(Analyses* analyses, AnalysisStore* store, catalogue::CatalogueStore* datasets,
                 DatasetPath dataset_path, ScriptRunning scripts = {}, QueryRunning queries = {});
  ~AnalysisRunner() { Stop(); }

  // Settles what an earlier run left unfinished: routes submitted analyses
  // and fails running queries with kInterruptedReason. Queued queries (they
  // never started) are left to the query workers, script jobs to PollJobs(),
  // which asks the backend. Call before serving.
  absl::Status Reconcile();
  // The prices each ended analysis's usage is costed by (kept with it as
  // Analysis.cost); null: no cost is recorded. Set before Start().
  void SetPrices(const charging::PriceTable* prices) { prices_ = prices; }

  // Starts the threads: one queues approved analyses as they come (submitting
  // script jobs) and follows script jobs; the query workers run queued
  // queries. Stop() interrupts running queries, which fail with
  // kInterruptedReason.
  void Start();
  void Stop();
  // Queues every approved analysis now, submitting script jobs.
  void RunApproved();
  // Runs every queued query now, one after another, as a query worker does.
  void RunQueued();
  // Follows every queued and running script job one step, collecting what
  // ended; cleans up after cancelled jobs.
  void PollJobs();

 private:
  void Run(trenode::v1::Analysis analysis);
  // Runs the first queued query no other worker has started; false if none.
  bool RunNextQuery();
  // Starts and runs a queued query; false if it was no longer queued.
  bool Execute(const trenode::v1::Analysis& analysis);
  absl::StatusOr<query::QueryOutcome> RunQuery(const trenode::v1::Analysis& analysis,
                                                std::function<bool()> stop);
  // Keeps `usage` with the analysis, and its cost by the prices.
  void Charge(trenode::v1::Analysis& analysis, trenode::v1::Usage usage) const;
  // What a script job used, as its backend metered it (negatives read as 0).
  trenode::v1::Usage JobUsageOf(const adapters::JobStatus& job) const;
  // Keeps `usage` and its cost with analysis `id`, cancelled while it ran
  // (metering_pending), as an "analysis.note"; nothing if it is not pending.
  // An error leaves it pending, to be charged on a later attempt.
  absl::Status ChargeAfterCancel(const std::string& id, trenode::v1::Usage usage);
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
  QueryRunning queries_;
  const charging::PriceTable* prices_ = nullptr;
  // Used when queries_.codes is null.
  std::unique_ptr<query::MemoryPersonRegistry> own_registry_;
  std::unique_ptr<query::PersonCodesCache> own_codes_;
  // At most one idle connection per query worker.
  std::unique_ptr<query::DatasetConnections> connections_;
  std::atomic<bool> stopping_{false};
  std::thread worker_;
  std::vector<std::thread> query_workers_;
  absl::Mutex mu_;
  // Cancelled analyses whose jobs are to be removed once they have stopped.
  std::map<std::string, trenode::v1::Analysis> cancelled_ ABSL_GUARDED_BY(mu_);
  // Queries starting or running, by analysis id: set to stop one.
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> running_queries_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> running_per_project_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_
