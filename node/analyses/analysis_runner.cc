#include "node/analyses/analysis_runner.h"

#include <time.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/analyses/bundle.h"
#include "node/charging/money.h"
#include "node/common/text.h"
#include "node/query/compiler.h"
#include "node/common/files.h"
#include "node/common/status_macros.h"
#include "node/log/event_sink.h"
#include "node/log/merkle.h"
#include "node/storage/sqlite.h"

namespace trenode::analyses {
namespace {
namespace fs = std::filesystem;
using trenode::v1::Analysis;

bool IsScript(const Analysis& analysis) { return analysis.has_script(); }

// What an analysis whose counters were lost used, as far as the node knows:
// nothing metered, so it is charged the fixed fee of its backend.
trenode::v1::Usage Unmetered(const std::string& backend) {
  trenode::v1::Usage usage;
  usage.set_metered_by("none");
  usage.set_backend(backend);
  return usage;
}

}  // namespace

// Failures researchers are shown (spec/analyses.md, "Failures"): fixed
// sentences; the details go to Analysis.failure_detail.
constexpr char kJobNotStarted[] =
    "the job could not be started; the node's staff have the details";
constexpr char kQueryFailed[] = "the query could not be run; the node's staff have the details";
constexpr char kJobOutputsWrong[] =
    "the job's outbox did not hold exactly the outputs its manifest declares";

std::string OutputObjectKey(const std::string& analysis_id, const std::string& name) {
  return absl::StrCat("analyses/", analysis_id, "/outputs/", name);
}

AnalysisRunner::AnalysisRunner(Analyses* analyses, AnalysisStore* store,
                               catalogue::CatalogueStore* datasets, DatasetPath dataset_path,
                               ScriptRunning scripts, QueryRunning queries)
    : analyses_(analyses),
      store_(store),
      datasets_(datasets),
      dataset_path_(std::move(dataset_path)),
      scripts_(std::move(scripts)),
      queries_(queries) {
  queries_.workers = std::max(1, queries_.workers);
  if (queries_.codes == nullptr) {
    own_registry_ = std::make_unique<query::MemoryPersonRegistry>();
    own_codes_ = std::make_unique<query::PersonCodesCache>(own_registry_.get());
    queries_.codes = own_codes_.get();
  }
  connections_ = std::make_unique<query::DatasetConnections>(query::DatasetConnections::Options{
      queries_.cache_bytes, queries_.mmap_bytes, static_cast<size_t>(queries_.workers)});
  analyses_->AddCancelHook([this](const Analysis& analysis) {
    if (!IsScript(analysis)) {
      absl::MutexLock lock(&mu_);
      auto running = running_queries_.find(analysis.id());
      if (running != running_queries_.end()) *running->second = true;
      return;
    }
    if (scripts_.backend == nullptr || analysis.backend_job_id().empty()) return;
    (void)scripts_.backend->Cancel(analysis.backend_job_id());
    absl::MutexLock lock(&mu_);
    cancelled_[analysis.id()] = analysis;
  });
}

absl::Status AnalysisRunner::Reconcile() {
  ASSIGN_OR_RETURN(
      std::vector<Analysis> unfinished,
      store_->InStates({trenode::v1::ANALYSIS_STATE_SUBMITTED, trenode::v1::ANALYSIS_STATE_QUEUED,
                        trenode::v1::ANALYSIS_STATE_RUNNING}));
  for (const Analysis& analysis : unfinished) {
    absl::Status settled;
    if (analysis.state() == trenode::v1::ANALYSIS_STATE_SUBMITTED) {
      settled = analyses_->Route(analysis).status();
    } else if (IsScript(analysis) || analysis.nodes_size() > 0) {
      continue;  // the backend knows; PollJobs asks it (federated: the coordinator)
    } else if (analysis.state() == trenode::v1::ANALYSIS_STATE_QUEUED) {
      continue;  // never started: the query workers run it
    } else {
      // Its thread's counters died with the node: it is charged its fee.
      settled = analyses_
                    ->Advance(analysis.id(), AnalysisAction::kFail, kInterruptedReason,
                              [&](Analysis& a) { Charge(a, Unmetered("query")); })
                    .status();
    }
    RETURN_IF_ERROR(settled);
  }
  // Cancelled while running and not yet metered when the node stopped: a
  // script's job is asked for its counters as PollJobs does for any
  // cancelled job; a query's counters died with the node.
  ASSIGN_OR_RETURN(std::vector<Analysis> cancelled, store_->MeteringPending());
  for (const Analysis& analysis : cancelled) {
    if (IsScript(analysis) && scripts_.backend != nullptr) {
      absl::MutexLock lock(&mu_);
      cancelled_[analysis.id()] = analysis;
      continue;
    }
    RETURN_IF_ERROR(ChargeAfterCancel(analysis.id(),
                                      Unmetered(IsScript(analysis) ? scripts_.backend_name
                                                                   : "query")));
  }
  return absl::OkStatus();
}

void AnalysisRunner::Start() {
  // Woken by what they may have to act on (another analysis's changes
  // wake neither), and every 250 ms for a job's progress.
  constexpr auto kRunnable = Analyses::Changes::kRunnable;
  worker_ = std::thread([this] {
    int64_t generation = analyses_->generation(kRunnable);
    while (!stopping_) {
      RunApproved();
      PollJobs();
      generation = analyses_->WaitForChange(generation, absl::Milliseconds(250), kRunnable);
    }
  });
  for (int i = 0; i < queries_.workers; ++i) {
    query_workers_.emplace_back([this] {
      int64_t generation = analyses_->generation(kRunnable);
      while (!stopping_) {
        if (RunNextQuery()) continue;
        generation = analyses_->WaitForChange(generation, absl::Milliseconds(250), kRunnable);
      }
    });
  }
}

void AnalysisRunner::Stop() {
  stopping_ = true;  // running queries see it at their next stop check
  if (worker_.joinable()) worker_.join();
  for (std::thread& query_worker : query_workers_) query_worker.join();
  query_workers_.clear();
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
  if (IsScript(analysis) && scripts_.backend == nullptr) {
    (void)analyses_->Advance(analysis.id(), AnalysisAction::kFail,
                             "this node has no compute backend for script jobs");
    return;
  }
  // A script's job id is stored, its record durable, before the job exists.
  // A query's queueing is acted on by nothing outside the database: its
  // record goes with the query's start and data access.
  log::DeferredRecords deferred(IsScript(analysis) ? log::DeferredRecords::AtEnd::kWait
                                                   : log::DeferredRecords::AtEnd::kLeaveToTheLog);
  absl::StatusOr<Analysis> queued =  // a query worker may start it meanwhile
      analyses_->Advance(analysis.id(), AnalysisAction::kQueue, "", [](Analysis& a) {
        if (a.has_script()) a.set_backend_job_id(a.id());
      });
  if (absl::Status recorded = deferred.Finish(); !recorded.ok() && queued.ok()) queued = recorded;
  if (!queued.ok() || !IsScript(*queued)) return;  // cancelled meanwhile, or a query worker's
  absl::Status submitted = SubmitJob(*queued);
  if (!submitted.ok() && submitted.code() != absl::StatusCode::kUnavailable) {
    (void)analyses_->Fail(queued->id(), kJobNotStarted, submitted.message());
  }
}

void AnalysisRunner::RunQueued() {
  while (!stopping_ && RunNextQuery()) {
  }
}

bool AnalysisRunner::RunNextQuery() {
  absl::StatusOr<std::vector<Analysis>> queued =
      store_->InStates({trenode::v1::ANALYSIS_STATE_QUEUED});
  if (!queued.ok()) return false;  // retried on the next pass
  for (const Analysis& analysis : *queued) {
    if (stopping_) return false;
    // Federated analyses are the federation coordinator's.
    if (!IsScript(analysis) && analysis.nodes_size() == 0 && Execute(analysis)) return true;
  }
  return false;
}

bool AnalysisRunner::Execute(const Analysis& analysis) {
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  const int share = queries_.per_project > 0 ? queries_.per_project
                                             : std::max(1, queries_.workers - 1);
  {
    absl::MutexLock lock(&mu_);
    // Its project holds its share of the workers: another project's next.
    if (running_per_project_[analysis.project_id()] >= share) return false;
    if (!running_queries_.emplace(analysis.id(), cancelled).second)
      return false;  // another worker's
    ++running_per_project_[analysis.project_id()];
  }
  absl::Cleanup unregister = [&] {
    absl::MutexLock lock(&mu_);
    running_queries_.erase(analysis.id());
    if (--running_per_project_[analysis.project_id()] == 0) {
      running_per_project_.erase(analysis.project_id());
    }
  };
  // A query may wait in the queue: the start gate is checked again as it starts.
  if (absl::Status gate = analyses_->CheckStartGate(analysis); !gate.ok()) {
    return analyses_
        ->Advance(analysis.id(), AnalysisAction::kFail,
                  absl::StrCat("refused at start: ", gate.message()))
        .ok();
  }
  // Started, then its data access recorded (with Record, which waits for
  // the start's record too) before any of the dataset is read.
  std::optional<log::DeferredRecords> starting(std::in_place);
  if (!analyses_->Advance(analysis.id(), AnalysisAction::kStart, "").ok()) return false;
  absl::Time started = absl::Now();
  absl::Time deadline = started + queries_.wall;
  // The query runs on this thread alone: its CPU time is the thread's.
  timespec cpu_before{}, cpu_after{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_before);
  absl::StatusOr<query::QueryOutcome> result =
      RunQuery(analysis, [&] { return *cancelled || stopping_ || absl::Now() >= deadline; });
  if (absl::Status recorded = starting->Finish(); !recorded.ok() && result.ok()) {
    result = recorded;
  }
  starting.reset();
  // How it ended is answered to nobody here, and nothing leaves with it
  // (its output leaves only by a release, whose acts are recorded first):
  // the records go with the next that somebody waits for.
  log::DeferredRecords ending(log::DeferredRecords::AtEnd::kLeaveToTheLog);
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_after);
  trenode::v1::Usage usage;
  usage.set_cpu_micros(absl::ToInt64Microseconds(absl::DurationFromTimespec(cpu_after) -
                                                 absl::DurationFromTimespec(cpu_before)));
  usage.set_wall_micros(absl::ToInt64Microseconds(absl::Now() - started));
  if (result.ok()) usage.set_rows_read(result->rows_read);
  usage.set_metered_by("query-thread");
  usage.set_backend("query");
  if (result.ok()) {
    // Kept before the result, so a succeeded query always has them.
    absl::Status kept =
        store_->PutInternals(analysis.id(), result->internals.SerializeAsString());
    if (!kept.ok()) result = kept;
  }
  if (absl::IsCancelled(result.status())) {
    if (*cancelled) {
      // Cancelled while running: it produced nothing, and is charged what it
      // used up to then.
      (void)ChargeAfterCancel(analysis.id(), usage);
      return true;
    }
    (void)analyses_->Advance(
        analysis.id(), AnalysisAction::kFail,
        stopping_ ? kInterruptedReason
                  : absl::StrCat("the query ran longer than its limit of ",
                                 absl::FormatDuration(queries_.wall),
                                 " (compute.query_seconds); narrow it, or ask the node's "
                                 "administrator for a longer limit"),
        [&](Analysis& a) { Charge(a, usage); });
    return true;
  }
  absl::StatusOr<Analysis> finished =
      result.ok() ? analyses_->Advance(analysis.id(), AnalysisAction::kSucceed, "",
                                       [&](Analysis& a) {
                                         *a.mutable_result() = result->result;
                                         Charge(a, usage);
                                       })
                  : analyses_->Fail(analysis.id(), kQueryFailed, result.status().ToString(),
                                    [&](Analysis& a) { Charge(a, usage); });
  if (!finished.ok() && finished.status().code() == absl::StatusCode::kFailedPrecondition) {
    // Cancelled as it ended: charged what it used all the same.
    (void)ChargeAfterCancel(analysis.id(), usage);
    if (result.ok()) DiscardOutputs(analysis, "cancelled while running; its output was discarded");
  }
  return true;
}

absl::StatusOr<query::QueryOutcome> AnalysisRunner::RunQuery(const Analysis& analysis,
                                                             std::function<bool()> stop) {
  ASSIGN_OR_RETURN(trenode::v1::Dataset dataset, datasets_->Get(analysis.query().dataset_id(), 0));
  ASSIGN_OR_RETURN(query::CompiledQuery compiled,
                   query::CompileQuery(analysis.query(), dataset, queries_.limits));
  ASSIGN_OR_RETURN(std::string path, dataset_path_(dataset));
  // Recorded before any of the dataset is read (person codes and its
  // layout included).
  RETURN_IF_ERROR(analyses_->RecordNodeEvent(
      analysis, "analysis.data_access", "success",
      absl::StrCat("dataset ", dataset.id(), " version ", dataset.version(), " tables ",
                   absl::StrJoin(compiled.tables, ","))));
  ASSIGN_OR_RETURN(std::shared_ptr<const query::PersonCodes> codes,
                   queries_.codes->For(dataset, path));
  ASSIGN_OR_RETURN(query::DatasetConnections::Lease file, connections_->Borrow(path, dataset));
  // Planned for the file's layout: files imported since person rowids were
  // added join events by them.
  if (file.person_rowids()) {
    query::CompileLimits limits = queries_.limits;
    limits.person_rowids = true;
    ASSIGN_OR_RETURN(compiled, query::CompileQuery(analysis.query(), dataset, limits));
  }
  file.db().SetStopCheck(std::move(stop));
  ASSIGN_OR_RETURN(query::QueryOutcome outcome, query::RunQuery(file.db(), compiled, *codes));
  file.KeepOpen();
  outcome.internals.set_dataset_id(dataset.id());
  return outcome;
}

absl::Status AnalysisRunner::SubmitJob(const Analysis& analysis) {
  ASSIGN_OR_RETURN(trenode::v1::Bundle bundle,
                   store_->GetBundle(analysis.script().bundle_sha256()));
  fs::path code = fs::path(scripts_.jobs_dir) / analysis.id() / "code";
  std::error_code ec;
  fs::remove_all(code, ec);
  fs::create_directories(code, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", code.string()));
  ASSIGN_OR_RETURN(std::string archive,
                   adapters::ReadObject(*scripts_.objects, BundleObjectKey(bundle.sha256())));
  // Only the approved bytes run: the object store (a bucket, perhaps) may
  // have been written by someone else since.
  if (absl::BytesToHexString(log::HashBytes(log::Sha256(archive))) != bundle.sha256()) {
    return absl::DataLossError(absl::StrCat("bundle ", bundle.sha256(),
                                            " in the object store is not the approved bundle: "
                                            "its bytes were changed"));
  }
  RETURN_IF_ERROR(ExtractBundle(archive, code.string(), analyses_->bundle_limits()));
  adapters::JobSpec spec;
  spec.job_id = analysis.backend_job_id();
  spec.code_dir = code.string();
  spec.command = BundleCommand(bundle.manifest());
  spec.limits = scripts_.limits;
  std::vector<std::string> read;
  for (const std::string& id : bundle.manifest().datasets()) {
    ASSIGN_OR_RETURN(trenode::v1::Dataset dataset, datasets_->Get(id, 0));
    ASSIGN_OR_RETURN(std::string path, dataset_path_(dataset));
    spec.datasets.push_back({id, path});
    read.push_back(absl::StrCat(id, " version ", dataset.version()));
  }
  // Recorded before the job can read anything; if the submission then
  // fails, the analysis fails and says so in the log.
  RETURN_IF_ERROR(analyses_->RecordNodeEvent(
      analysis, "analysis.data_access", "success",
      absl::StrCat("job ", spec.job_id, " mounts datasets ", absl::StrJoin(read, ", "))));
  return scripts_.backend->Submit(spec);
}

void AnalysisRunner::PollJobs() {
  if (scripts_.backend == nullptr) return;
  absl::StatusOr<std::vector<Analysis>> active =
      store_->InStates({trenode::v1::ANALYSIS_STATE_QUEUED, trenode::v1::ANALYSIS_STATE_RUNNING});
  if (active.ok()) {
    for (const Analysis& analysis : *active) {
      if (!IsScript(analysis) || stopping_) continue;
      absl::StatusOr<adapters::JobStatus> job = scripts_.backend->Status(analysis.backend_job_id());
      if (!job.ok() && job.status().code() == absl::StatusCode::kNotFound) {
        if (analysis.state() == trenode::v1::ANALYSIS_STATE_QUEUED) {
          // Stored but never submitted (the node stopped in between).
          absl::Status submitted = SubmitJob(analysis);
          if (!submitted.ok() && submitted.code() != absl::StatusCode::kUnavailable) {
            (void)analyses_->Fail(analysis.id(), kJobNotStarted, submitted.message());
          }
        } else {
          (void)analyses_->Advance(analysis.id(), AnalysisAction::kFail,
                                   "the compute backend no longer knows its job",
                                   [&](Analysis& a) { Charge(a, Unmetered(scripts_.backend_name)); });
        }
        continue;
      }
      if (!job.ok()) continue;  // asked again on the next pass
      if (adapters::IsFinished(job->state)) {
        Collect(analysis, *job);
      } else if (job->state == adapters::JobState::kRunning &&
                 analysis.state() == trenode::v1::ANALYSIS_STATE_QUEUED) {
        (void)analyses_->Advance(analysis.id(), AnalysisAction::kStart, "");
      }
    }
  }
  std::map<std::string, Analysis> cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = cancelled_;
  }
  for (const auto& [id, analysis] : cancelled) {
    absl::StatusOr<adapters::JobStatus> job = scripts_.backend->Status(analysis.backend_job_id());
    if (job.ok() && !adapters::IsFinished(job->state)) continue;
    if (!job.ok() && job.status().code() != absl::StatusCode::kNotFound) continue;  // next pass
    // Charged what it used up to the cancellation, from the backend's own
    // counters (never submitted, or lost: its fee) before its directory goes.
    if (!ChargeAfterCancel(id, job.ok() ? JobUsageOf(*job) : Unmetered(scripts_.backend_name))
             .ok()) {
      continue;  // kept for the next pass, its job directory with it
    }
    DiscardOutputs(analysis, "cancelled; the job was stopped and its outputs discarded");
    Forget(analysis);
    absl::MutexLock lock(&mu_);
    cancelled_.erase(id);
  }
}

absl::StatusOr<trenode::v1::ScriptOutcome> AnalysisRunner::KeepOutputs(
    const Analysis& analysis, const adapters::JobStatus& job) {
  ASSIGN_OR_RETURN(trenode::v1::Bundle bundle,
                   store_->GetBundle(analysis.script().bundle_sha256()));
  std::set<std::string> declared(bundle.manifest().outputs().begin(),
                                 bundle.manifest().outputs().end());
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(job.outbox_dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::string name = it->path().lexically_relative(job.outbox_dir).string();
    if (!declared.contains(name)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the job wrote \"", name, "\", which its manifest does not declare"));
    }
  }
  trenode::v1::ScriptOutcome outcome;
  for (const std::string& name : bundle.manifest().outputs()) {
    fs::path file = fs::path(job.outbox_dir) / name;
    std::optional<std::string> bytes = ReadWholeFile(file.string());
    if (!bytes) {
      return absl::FailedPreconditionError(
          absl::StrCat("the job did not write its declared output \"", name, "\""));
    }
    const std::string key = OutputObjectKey(analysis.id(), name);
    // Recorded before it is written, and closed again if the write fails:
    // no output is ever kept unmetered.
    if (scripts_.storage != nullptr) {
      RETURN_IF_ERROR(scripts_.storage->Stored(analysis.project_id(), charging::StoredKind::kOutput,
                                               key, static_cast<int64_t>(bytes->size()),
                                               absl::Now()));
    }
    if (absl::Status written = adapters::WriteObject(*scripts_.objects, key, *bytes);
        !written.ok()) {
      if (scripts_.storage != nullptr) (void)scripts_.storage->Removed(key, absl::Now());
      return written;
    }
    auto* kept = outcome.add_outputs();
    kept->set_name(name);
    kept->set_size(static_cast<int64_t>(bytes->size()));
    kept->set_sha256(absl::BytesToHexString(log::HashBytes(log::Sha256(*bytes))));
  }
  return outcome;
}

void AnalysisRunner::Collect(const Analysis& analysis, const adapters::JobStatus& job) {
  trenode::v1::ScriptOutcome outcome;
  std::string failure;  // from the fixed vocabulary
  std::string detail;
  if (job.state == adapters::JobState::kSucceeded) {
    absl::StatusOr<trenode::v1::ScriptOutcome> kept = KeepOutputs(analysis, job);
    if (kept.ok()) {
      outcome = *std::move(kept);
    } else {
      failure = absl::IsFailedPrecondition(kept.status())
                    ? kJobOutputsWrong
                    : "the job's outputs could not be kept; the node's staff have the details";
      detail = std::string(kept.status().message());
    }
  } else if (job.state == adapters::JobState::kCancelled) {
    failure = "the compute backend cancelled the job";
  } else {
    failure = adapters::JobFailureText(job.failure);
    detail = job.reason;
  }
  outcome.set_exit_code(job.exit_code);
  // A job's output is whatever bytes it wrote: kept as valid UTF-8 (each bad
  // byte becomes U+FFFD) so the stored analysis always parses.
  outcome.set_stdout(ValidUtf8(job.stdout_text));
  outcome.set_stderr(ValidUtf8(job.stderr_text));
  trenode::v1::Usage usage = JobUsageOf(job);
  for (const auto& kept : outcome.outputs()) usage.set_output_bytes(usage.output_bytes() + kept.size());
  auto record = [&](Analysis& a) {
    *a.mutable_script_outcome() = outcome;
    Charge(a, usage);
  };
  absl::StatusOr<Analysis> finished =
      failure.empty() ? analyses_->Advance(analysis.id(), AnalysisAction::kSucceed, "", record)
                      : analyses_->Fail(analysis.id(), failure, detail, record);
  if (!finished.ok() && finished.status().code() == absl::StatusCode::kFailedPrecondition) {
    // Cancelled as it ended: charged what it used all the same.
    if (!ChargeAfterCancel(analysis.id(), JobUsageOf(job)).ok()) return;  // next pass
    DiscardOutputs(analysis, "cancelled while running; its outputs were discarded");
  } else if (!finished.ok()) {
    return;  // retried on the next pass
  } else if (!failure.empty()) {
    DiscardOutputs(analysis, "");
  }
  Forget(analysis);
}

void AnalysisRunner::Charge(Analysis& analysis, trenode::v1::Usage usage) const {
  *analysis.mutable_usage() = std::move(usage);
  if (prices_ != nullptr) *analysis.mutable_cost() = prices_->CostOf(analysis.usage());
}

trenode::v1::Usage AnalysisRunner::JobUsageOf(const adapters::JobStatus& job) const {
  trenode::v1::Usage usage;
  usage.set_cpu_micros(std::max<int64_t>(0, job.usage.cpu_micros));
  usage.set_wall_micros(std::max<int64_t>(0, job.usage.wall_micros));
  usage.set_peak_memory_bytes(std::max<int64_t>(0, job.usage.peak_memory_bytes));
  usage.set_metered_by(job.usage.metered_by.empty() ? "none" : job.usage.metered_by);
  usage.set_backend(scripts_.backend_name);
  return usage;
}

absl::Status AnalysisRunner::ChargeAfterCancel(const std::string& id, trenode::v1::Usage usage) {
  ASSIGN_OR_RETURN(Analysis stored, store_->Get(id));
  if (!stored.metering_pending()) return absl::OkStatus();  // charged already, or ran nothing
  trenode::v1::Cost cost;
  if (prices_ != nullptr) cost = prices_->CostOf(usage);
  std::string reason =
      absl::StrCat("metered after cancellation: ", usage.cpu_micros(), " us CPU, ",
                   usage.wall_micros(), " us wall (", usage.metered_by(), ")",
                   prices_ != nullptr
                       ? absl::StrCat(", charged ", charging::FormatMoney(cost.total_micros()),
                                      " ", prices_->currency())
                       : "");
  return analyses_
      ->Annotate(id, reason,
                 [&](Analysis& a) {
                   if (!a.metering_pending()) return;
                   Charge(a, usage);
                   a.set_metering_pending(false);
                 })
      .status();
}

void AnalysisRunner::DiscardOutputs(const Analysis& analysis, const std::string& why) {
  if (analysis.has_script() && scripts_.objects != nullptr) {
    absl::StatusOr<trenode::v1::Bundle> bundle =
        store_->GetBundle(analysis.script().bundle_sha256());
    if (bundle.ok()) {
      for (const std::string& name : bundle->manifest().outputs()) {
        const std::string key = OutputObjectKey(analysis.id(), name);
        // Stored until now: that time is charged, not nothing.
        if (scripts_.objects->Delete(key).ok() && scripts_.storage != nullptr) {
          (void)scripts_.storage->Removed(key, absl::Now());
        }
      }
    }
  }
  if (!why.empty()) {
    (void)analyses_->RecordNodeEvent(analysis, "analysis.output.discard", "success", why);
  }
}

void AnalysisRunner::Forget(const Analysis& analysis) {
  (void)scripts_.backend->Remove(analysis.backend_job_id());
  std::error_code ec;
  fs::remove_all(fs::path(scripts_.jobs_dir) / analysis.id(), ec);
}

}  // namespace trenode::analyses
