#include "node/analyses/analysis_runner.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/analyses/query_compiler.h"
#include "node/analyses/query_runner.h"
#include "node/common/status_macros.h"
#include "node/storage/sqlite.h"

namespace trenode::analyses {
namespace {
using trenode::v1::Analysis;
}  // namespace

absl::Status AnalysisRunner::Reconcile() {
  ASSIGN_OR_RETURN(
      std::vector<Analysis> unfinished,
      store_->InStates({trenode::v1::ANALYSIS_STATE_SUBMITTED, trenode::v1::ANALYSIS_STATE_QUEUED,
                        trenode::v1::ANALYSIS_STATE_RUNNING}));
  for (const Analysis& analysis : unfinished) {
    absl::Status settled;
    switch (analysis.state()) {
      case trenode::v1::ANALYSIS_STATE_SUBMITTED:
        settled = analyses_->Route(analysis).status();
        break;
      case trenode::v1::ANALYSIS_STATE_QUEUED:
        Execute(analysis);
        break;
      default:
        settled =
            analyses_->Advance(analysis.id(), AnalysisAction::kFail, kInterruptedReason).status();
        break;
    }
    RETURN_IF_ERROR(settled);
  }
  return absl::OkStatus();
}

void AnalysisRunner::Start() {
  worker_ = std::thread([this] {
    int64_t generation = analyses_->generation();
    while (!stopping_) {
      RunApproved();
      generation = analyses_->WaitForChange(generation, absl::Seconds(1));
    }
  });
}

void AnalysisRunner::Stop() {
  stopping_ = true;
  if (worker_.joinable()) worker_.join();
}

void AnalysisRunner::RunApproved() {
  absl::StatusOr<std::vector<Analysis>> approved =
      store_->InStates({trenode::v1::ANALYSIS_STATE_APPROVED});
  if (!approved.ok()) return;  // retried on the next pass
  for (Analysis& analysis : *approved) {
    if (stopping_) return;
    Run(std::move(analysis));
  }
}

void AnalysisRunner::Run(Analysis analysis) {
  absl::Status gate = analyses_->CheckStartGate(analysis);
  if (!gate.ok()) {
    (void)analyses_->Advance(analysis.id(), AnalysisAction::kFail,
                             absl::StrCat("refused at start: ", gate.message()));
    return;
  }
  absl::StatusOr<Analysis> queued = analyses_->Advance(analysis.id(), AnalysisAction::kQueue, "");
  if (!queued.ok()) return;  // cancelled meanwhile
  Execute(*queued);
}

void AnalysisRunner::Execute(const Analysis& analysis) {
  if (!analyses_->Advance(analysis.id(), AnalysisAction::kStart, "").ok()) return;
  absl::StatusOr<trenode::v1::AggregateResult> result = RunQuery(analysis);
  absl::StatusOr<Analysis> finished =
      result.ok() ? analyses_->Advance(analysis.id(), AnalysisAction::kSucceed, "",
                                       [&](Analysis& a) { *a.mutable_result() = *result; })
                  : analyses_->Advance(analysis.id(), AnalysisAction::kFail,
                                       std::string(result.status().message()));
  if (!finished.ok() && result.ok() &&
      finished.status().code() == absl::StatusCode::kFailedPrecondition) {
    // Cancelled while running: its output is not kept.
    (void)analyses_->RecordNodeEvent(analysis, "analysis.output.discard", "success",
                                     "cancelled while running; its output was discarded");
  }
}

absl::StatusOr<trenode::v1::AggregateResult> AnalysisRunner::RunQuery(const Analysis& analysis) {
  ASSIGN_OR_RETURN(trenode::v1::Dataset dataset, datasets_->Get(analysis.query().dataset_id(), 0));
  ASSIGN_OR_RETURN(CompiledQuery compiled, CompileQuery(analysis.query(), dataset));
  ASSIGN_OR_RETURN(std::string path, dataset_path_(dataset));
  ASSIGN_OR_RETURN(auto db, storage::SqliteDb::Open(path, storage::SqliteDb::Mode::kReadOnly));
  RETURN_IF_ERROR(analyses_->RecordNodeEvent(
      analysis, "analysis.data_access", "success",
      absl::StrCat("dataset ", dataset.id(), " version ", dataset.version(), " tables ",
                   absl::StrJoin(compiled.tables, ","))));
  return analyses::RunQuery(*db, compiled);
}

}  // namespace trenode::analyses
