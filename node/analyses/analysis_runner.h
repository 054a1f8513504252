// AnalysisRunner: takes approved analyses through the start gate and runs
// them (spec/analyses.md, "Running" and "Restart"). Aggregate queries run in
// the node against a read-only connection to the dataset file. One worker
// thread; every step is a transition of the Analyses state machine, so a
// crash at any point leaves a state that Start() settles without running
// anything twice.
#ifndef TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_
#define TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "node/analyses/analyses.h"
#include "node/analyses/analysis_store.h"
#include "node/catalogue/catalogue_store.h"

namespace trenode::analyses {

// Why a query that was running when the node stopped is failed, not rerun.
inline constexpr char kInterruptedReason[] =
    "interrupted by a node restart while running; analyses never run twice, so submit it "
    "again with a new request id";

class AnalysisRunner {
 public:
  // The local file of a dataset's SQLite data.
  using DatasetPath = std::function<absl::StatusOr<std::string>(const trenode::v1::Dataset&)>;

  // Everything given must outlive the runner.
  AnalysisRunner(Analyses* analyses, AnalysisStore* store, catalogue::CatalogueStore* datasets,
                 DatasetPath dataset_path)
      : analyses_(analyses),
        store_(store),
        datasets_(datasets),
        dataset_path_(std::move(dataset_path)) {}
  ~AnalysisRunner() { Stop(); }

  // Settles what an earlier run left unfinished: routes submitted analyses,
  // runs queued ones (they never started), fails running ones with
  // kInterruptedReason. Call before serving.
  absl::Status Reconcile();
  // Starts the worker thread, which runs approved analyses as they come.
  void Start();
  void Stop();
  // Runs every approved analysis now, one after another.
  void RunApproved();

 private:
  void Run(trenode::v1::Analysis analysis);
  void Execute(const trenode::v1::Analysis& analysis);
  absl::StatusOr<trenode::v1::AggregateResult> RunQuery(const trenode::v1::Analysis& analysis);

  Analyses* analyses_;
  AnalysisStore* store_;
  catalogue::CatalogueStore* datasets_;
  DatasetPath dataset_path_;
  std::atomic<bool> stopping_{false};
  std::thread worker_;
};

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_ANALYSIS_RUNNER_H_
