// The runner over real SQLite stores: what a restart finds is settled
// without running anything twice, and a query cancelled while running leaves
// no output behind.
#include "node/analyses/analysis_runner.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "adapters/memory/memory_object_store.h"
#include "adapters/onprem/posix_object_store.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "node/analyses/sqlite_analysis_store.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/charging/budget.h"
#include "node/governance/sqlite_governance_store.h"
#include "node/ingest/dataset_builder.h"
#include "node/storage/node_schema.h"
#include "node/synth/generator.h"
#include "tests/testutil/bundles.h"
#include "tests/testutil/compute_backends.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::analyses {
namespace {

QueryRunning Running(int workers, absl::Duration wall = absl::Minutes(10)) {
  QueryRunning running;
  running.workers = workers;
  running.wall = wall;
  return running;
}
using google::protobuf::util::TimeUtil;
using trenode::v1::Analysis;

const auth::Principal kAda{"ada", trenode::v1::ROLE_RESEARCHER};
const auth::Principal kSteward{"sam", trenode::v1::ROLE_DATA_STEWARD};

// Remembers every event's action.
class RecordingSink : public log::EventSink {
 public:
  absl::Status Record(const auth::Principal&, log::ActivityEvent event) override {
    absl::MutexLock lock(&mu_);
    actions_.push_back(event.action);
    return absl::OkStatus();
  }
  std::vector<std::string> actions() {
    absl::MutexLock lock(&mu_);
    return actions_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> actions_;
};

class AnalysisRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const synth::SynthOptions options{6, 800};
    ASSERT_TRUE(synth::GenerateSite(options, dir_.File("site")).ok());
    std::filesystem::remove(dir_.path() / "site" / "dataset.textproto");
    auto source = *adapters::PosixObjectStore::Open(dir_.path() / "site");
    auto dataset =
        ingest::BuildDatasetFile(*source, synth::SiteMetadata(options), dir_.File("site.sqlite"));
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    dataset->set_state(trenode::v1::DATASET_STATE_ACTIVE);
    dataset->set_version(1);
    ASSERT_TRUE(datasets_.Create(*dataset).ok());

    trenode::v1::Project project;
    project.set_id("hf");
    project.set_title("Heart failure");
    project.set_lay_summary("Heart failure in routine records.");
    project.add_requested_dataset_ids("synth-ehr-6");
    ASSERT_TRUE(governance_.CreateProject(kAda, project).ok());
    trenode::v1::ApproveProjectRequest approve;
    approve.set_project_id("hf");
    approve.set_reference("REC 1");
    *approve.mutable_expires() = TimeUtil::GetCurrentTime() + TimeUtil::HoursToDuration(24 * 30);
    approve.add_dataset_ids("synth-ehr-6");
    ASSERT_TRUE(governance_.ApproveProject(kSteward, approve).ok());
    trenode::v1::TrainingRecord training;
    training.set_person("ada@site-a");
    training.set_course("Safe Researcher Training");
    training.set_completed("2026-01-10");
    training.set_expires("2099-01-10");
    ASSERT_TRUE(governance_.RecordTraining(kSteward, training).ok());
  }

  // A second project of ada's on the same dataset.
  void SecondProject(const std::string& id) {
    trenode::v1::Project project;
    project.set_id(id);
    project.set_title("Heart failure, again");
    project.set_lay_summary("Heart failure in routine records.");
    project.add_requested_dataset_ids("synth-ehr-6");
    ASSERT_TRUE(governance_.CreateProject(kAda, project).ok());
    trenode::v1::ApproveProjectRequest approve;
    approve.set_project_id(id);
    approve.set_reference("REC 2");
    *approve.mutable_expires() = TimeUtil::GetCurrentTime() + TimeUtil::HoursToDuration(24 * 30);
    approve.add_dataset_ids("synth-ehr-6");
    ASSERT_TRUE(governance_.ApproveProject(kSteward, approve).ok());
  }

  // Submitted and approved by a steward, not yet run.
  Analysis Approved(const std::string& request_id, const std::string& project = "hf") {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id(project);
    request.set_request_id(request_id);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(dataset_id: "synth-ehr-6"
             outputs {
               name: "by_sex"
               counts { group_by { variable { column: "sex" } } }
             })pb",
        request.mutable_query()));
    auto submitted = analyses_.Submit(kAda, request);
    EXPECT_TRUE(submitted.ok()) << submitted.status();
    trenode::v1::AnalysisDecisionRequest decision;
    decision.set_analysis_id(submitted->id());
    auto approved = analyses_.Approve(kSteward, decision);
    EXPECT_TRUE(approved.ok()) << approved.status();
    return *approved;
  }

  Analysis Stored(const std::string& id) { return *store_.Get(id); }

  AnalysisRunner Runner(AnalysisRunner::DatasetPath path = nullptr, QueryRunning queries = {}) {
    if (!path) path = [this](const trenode::v1::Dataset&) { return dir_.File("site.sqlite"); };
    return AnalysisRunner(&analyses_, &store_, &datasets_, std::move(path), {}, queries);
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::SqlitePool> pool_ =
      *storage::SqlitePool::Open(dir_.File("node.db"), 2, storage::NodeSchemaMigrations());
  catalogue::SqliteCatalogueStore datasets_{pool_.get()};
  governance::SqliteGovernanceStore projects_{pool_.get()};
  governance::Governance governance_{&projects_, &datasets_, "site-a"};
  SqliteAnalysisStore store_{pool_.get()};
  RecordingSink sink_;
  adapters::MemoryObjectStore objects_;
  Analyses analyses_{&store_,   &governance_, &projects_, &datasets_,
                     &objects_, "site-a",     &absl::Now, &sink_};
};

TEST_F(AnalysisRunnerTest, RestartSettlesEveryUnfinishedStateWithoutRunningTwice) {
  // What a crash can leave: one submitted but not routed, one queued but never
  // started, one that was running.
  Analysis queued = Approved("queued");
  ASSERT_TRUE(analyses_.Advance(queued.id(), AnalysisAction::kQueue, "").ok());
  Analysis running = Approved("running");
  ASSERT_TRUE(analyses_.Advance(running.id(), AnalysisAction::kQueue, "").ok());
  ASSERT_TRUE(analyses_.Advance(running.id(), AnalysisAction::kStart, "").ok());
  Analysis submitted = Approved("submitted");
  submitted.set_id("a-0000000000000ffff");
  submitted.set_request_id("unrouted");
  submitted.set_state(trenode::v1::ANALYSIS_STATE_SUBMITTED);
  submitted.set_sequence(1);
  trenode::v1::AnalysisEvent first;
  first.set_analysis_id(submitted.id());
  first.set_sequence(1);
  first.set_state(submitted.state());
  ASSERT_TRUE(store_.Create(submitted, "hash", first).ok());

  AnalysisRunner runner = Runner();
  ASSERT_TRUE(runner.Reconcile().ok());
  EXPECT_EQ(Stored(queued.id()).state(), trenode::v1::ANALYSIS_STATE_QUEUED);  // for the workers
  runner.RunQueued();
  EXPECT_EQ(Stored(queued.id()).state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED);
  EXPECT_EQ(Stored(queued.id()).result().tables(0).cells_size(), 2);
  EXPECT_EQ(Stored(running.id()).state(), trenode::v1::ANALYSIS_STATE_FAILED);
  EXPECT_EQ(Stored(running.id()).state_reason(), kInterruptedReason);
  EXPECT_FALSE(Stored(running.id()).has_result());
  EXPECT_EQ(Stored(submitted.id()).state(), trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL);

  // A second restart finds nothing left to do.
  int64_t sequence = Stored(running.id()).sequence();
  ASSERT_TRUE(Runner().Reconcile().ok());
  EXPECT_EQ(Stored(running.id()).sequence(), sequence);
}

// Reconcile finds the analyses cancelled while running and not yet metered
// from the partial index on their flag (migration 16), not by reading every
// cancelled analysis; rows stored before the migration were all marked, and
// the store clears the mark of each whose record says it is not pending.
TEST_F(AnalysisRunnerTest, ReconcileFindsMeteringPendingAnalysesByTheirIndex) {
  Analysis pending = Approved("pending");
  ASSERT_TRUE(analyses_.Advance(pending.id(), AnalysisAction::kQueue, "").ok());
  ASSERT_TRUE(analyses_.Advance(pending.id(), AnalysisAction::kStart, "").ok());
  trenode::v1::AnalysisDecisionRequest cancel;
  cancel.set_analysis_id(pending.id());
  cancel.set_reason("too slow");
  ASSERT_TRUE(analyses_.Cancel(kAda, cancel).ok());
  ASSERT_TRUE(Stored(pending.id()).metering_pending());
  // Cancelled before it ran: nothing to meter.
  Analysis idle = Approved("idle");
  cancel.set_analysis_id(idle.id());
  ASSERT_TRUE(analyses_.Cancel(kAda, cancel).ok());
  ASSERT_FALSE(Stored(idle.id()).metering_pending());

  auto marked = [&] {
    auto db = pool_->Acquire();
    auto select = db->Prepare("SELECT id FROM analyses WHERE metering_pending = 1 ORDER BY id");
    std::vector<std::string> ids;
    while (select.ok() && *select->Step()) ids.push_back(select->Text(0));
    return ids;
  };
  EXPECT_EQ(marked(), std::vector<std::string>{pending.id()});
  {
    // As migration 16 marks a cancelled analysis stored before it.
    auto db = pool_->Acquire();
    ASSERT_TRUE(db->Exec("UPDATE analyses SET metering_pending = 1 WHERE state = 9").ok());
    auto plan = db->Prepare("EXPLAIN QUERY PLAN SELECT analysis FROM analyses"
                            " WHERE metering_pending = 1 ORDER BY id");
    ASSERT_TRUE(plan.ok());
    std::string detail;
    while (*plan->Step()) detail += plan->Text(3);
    EXPECT_NE(detail.find("analyses_metering_pending"), std::string::npos) << detail;
  }
  EXPECT_EQ(marked().size(), 2u);

  auto found = store_.MeteringPending();
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].id(), pending.id());
  EXPECT_EQ(marked(), std::vector<std::string>{pending.id()});  // the stale mark went

  // The restarted node charges it its fee (its query thread died) and
  // clears the flag, so the next restart finds nothing.
  ASSERT_TRUE(Runner().Reconcile().ok());
  Analysis charged = Stored(pending.id());
  EXPECT_FALSE(charged.metering_pending());
  EXPECT_EQ(charged.usage().metered_by(), "none");
  EXPECT_TRUE(marked().empty());
  EXPECT_TRUE(store_.MeteringPending()->empty());
}

TEST_F(AnalysisRunnerTest, CancellingARunningQueryStopsItAndKeepsNoOutput) {
  Analysis analysis = Approved("late");
  AnalysisRunner runner = Runner([&](const trenode::v1::Dataset&) -> absl::StatusOr<std::string> {
    // The researcher cancels while the query is running.
    trenode::v1::AnalysisDecisionRequest cancel;
    cancel.set_analysis_id(analysis.id());
    cancel.set_reason("changed my mind");
    EXPECT_TRUE(analyses_.Cancel(kAda, cancel).ok());
    return dir_.File("site.sqlite");
  });
  runner.RunApproved();
  EXPECT_EQ(Stored(analysis.id()).state(), trenode::v1::ANALYSIS_STATE_QUEUED);
  runner.RunQueued();
  Analysis stored = Stored(analysis.id());
  EXPECT_EQ(stored.state(), trenode::v1::ANALYSIS_STATE_CANCELLED);
  EXPECT_FALSE(stored.has_result());
  // Stopped mid-query: it read data (logged) but produced nothing to
  // discard; what it used up to then is kept (logged as a note).
  std::vector<std::string> actions = sink_.actions();
  ASSERT_GE(actions.size(), 2u);
  EXPECT_EQ(actions[actions.size() - 2], "analysis.data_access");
  EXPECT_EQ(actions.back(), "analysis.note");
  EXPECT_FALSE(stored.metering_pending());
  EXPECT_EQ(stored.usage().metered_by(), "query-thread");
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "analysis.output.discard"), 0);

  // The worker is free for the next query.
  Analysis next = Approved("next");
  AnalysisRunner plain = Runner();
  plain.RunApproved();
  plain.RunQueued();
  EXPECT_EQ(Stored(next.id()).state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED);
}

TEST_F(AnalysisRunnerTest, AQueuedQueryMeetsTheStartGateAgainWhenAWorkerStartsIt) {
  Analysis analysis = Approved("waiting");
  AnalysisRunner runner = Runner();
  runner.RunApproved();
  ASSERT_EQ(Stored(analysis.id()).state(), trenode::v1::ANALYSIS_STATE_QUEUED);
  trenode::v1::ProjectDecisionRequest suspend;
  suspend.set_project_id("hf");
  suspend.set_reason("ethics review");
  ASSERT_TRUE(
      governance_.DecideProject(kSteward, governance::ProjectAction::kSuspend, suspend).ok());
  runner.RunQueued();
  Analysis stored = Stored(analysis.id());
  EXPECT_EQ(stored.state(), trenode::v1::ANALYSIS_STATE_FAILED);
  EXPECT_TRUE(absl::StartsWith(stored.state_reason(), "refused at start: "))
      << stored.state_reason();
  EXPECT_FALSE(stored.has_result());
}

TEST_F(AnalysisRunnerTest, AQueryOverItsWallClockLimitIsStoppedAndFailed) {
  Analysis analysis = Approved("slow");
  AnalysisRunner runner = Runner(nullptr, Running(1, absl::ZeroDuration()));
  runner.RunApproved();
  runner.RunQueued();
  Analysis stored = Stored(analysis.id());
  EXPECT_EQ(stored.state(), trenode::v1::ANALYSIS_STATE_FAILED);
  EXPECT_EQ(stored.state_reason(),
            "the query ran longer than its limit of 0 (compute.query_seconds); narrow it, or ask "
            "the node's administrator for a longer limit");
  EXPECT_FALSE(stored.has_result());
}

// Started workers pick queued queries up by themselves, several at once.
TEST_F(AnalysisRunnerTest, StartedQueryWorkersRunEveryApprovedQuery) {
  std::vector<Analysis> approved;
  for (int i = 0; i < 6; ++i) approved.push_back(Approved(absl::StrCat("q", i)));
  AnalysisRunner runner = Runner(nullptr, Running(3));
  runner.Start();
  for (const Analysis& analysis : approved) {
    for (int tries = 0;
         tries < 400 && Stored(analysis.id()).state() != trenode::v1::ANALYSIS_STATE_SUCCEEDED;
         ++tries) {
      absl::SleepFor(absl::Milliseconds(25));
    }
    EXPECT_EQ(Stored(analysis.id()).state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED)
        << Stored(analysis.id()).state_reason();
  }
  runner.Stop();
}

// The runner's and the coordinator's loops wait for their own kind of
// change: a submission awaiting approval wakes neither, an approval wakes
// the runner's, and only a federated analysis's changes wake the
// coordinator's; every change still counts for kAll (WatchAnalysis).
TEST_F(AnalysisRunnerTest, WaitersForOneKindOfChangeAreWokenByThatKindAlone) {
  using Changes = Analyses::Changes;
  analyses_.SetSiteCheck([](const std::vector<std::string>&) { return absl::OkStatus(); });
  auto generations = [&] {
    return std::vector<int64_t>{analyses_.generation(Changes::kAll),
                                analyses_.generation(Changes::kRunnable),
                                analyses_.generation(Changes::kFederated)};
  };
  auto submit = [&](const std::string& request_id, bool federated) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id("hf");
    request.set_request_id(request_id);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(dataset_id: "synth-ehr-6"
             outputs {
               name: "by_sex"
               counts { group_by { variable { column: "sex" } } }
             })pb",
        request.mutable_query()));
    if (federated) {
      request.add_nodes("site-a");
      request.add_nodes("site-b");
    }
    absl::StatusOr<Analysis> submitted = analyses_.Submit(kAda, request);
    EXPECT_TRUE(submitted.ok()) << submitted.status();
    EXPECT_EQ(submitted->state(), trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL);
    return submitted->id();
  };
  auto approve = [&](const std::string& id) {
    trenode::v1::AnalysisDecisionRequest decision;
    decision.set_analysis_id(id);
    absl::StatusOr<Analysis> approved = analyses_.Approve(kSteward, decision);
    ASSERT_TRUE(approved.ok()) << approved.status();
  };

  std::vector<int64_t> before = generations();
  std::string local = submit("local", /*federated=*/false);
  std::vector<int64_t> after = generations();
  EXPECT_GT(after[0], before[0]);
  EXPECT_EQ(after[1], before[1]) << "awaiting approval is nothing to run";
  EXPECT_EQ(after[2], before[2]) << "not federated";
  // A waiter for runnable work times out, its generation unchanged.
  EXPECT_EQ(analyses_.WaitForChange(after[1], absl::Milliseconds(50), Changes::kRunnable),
            after[1]);

  // A waiter blocked for runnable work is woken by the approval.
  absl::Notification woken;
  int64_t seen = 0;
  std::thread waiter([&] {
    seen = analyses_.WaitForChange(after[1], absl::Minutes(5), Changes::kRunnable);
    woken.Notify();
  });
  before = generations();
  approve(local);
  EXPECT_TRUE(woken.WaitForNotificationWithTimeout(absl::Seconds(60)));
  waiter.join();
  EXPECT_GT(seen, after[1]);
  after = generations();
  EXPECT_GT(after[1], before[1]);
  EXPECT_EQ(after[2], before[2]) << "not federated";

  before = generations();
  std::string federated = submit("federated", /*federated=*/true);
  after = generations();
  EXPECT_GT(after[2], before[2]);
  EXPECT_EQ(after[1], before[1]) << "awaiting approval is nothing to run";
  approve(federated);
  EXPECT_GT(analyses_.generation(Changes::kFederated), after[2]);
  EXPECT_GT(analyses_.generation(Changes::kRunnable), after[1]);
}

// One project's queries hold at most their share of the workers (here 1 of
// 2): another project's query runs beside them, and the queued one knows
// its place.
TEST_F(AnalysisRunnerTest, TwoProjectsQueriesShareTheWorkers) {
  SecondProject("hf2");
  Analysis first = Approved("a1");
  Analysis second = Approved("a2");
  Analysis other = Approved("b1", "hf2");
  absl::Notification finish;
  AnalysisRunner runner = Runner(
      [&](const trenode::v1::Dataset&) -> absl::StatusOr<std::string> {
        finish.WaitForNotificationWithTimeout(absl::Seconds(30));
        return dir_.File("site.sqlite");
      },
      Running(2));
  runner.Start();
  auto state = [&](const Analysis& a) { return Stored(a.id()).state(); };
  for (int i = 0; i < 400 && (state(first) != trenode::v1::ANALYSIS_STATE_RUNNING ||
                              state(other) != trenode::v1::ANALYSIS_STATE_RUNNING);
       ++i) {
    absl::SleepFor(absl::Milliseconds(25));
  }
  EXPECT_EQ(state(first), trenode::v1::ANALYSIS_STATE_RUNNING);
  EXPECT_EQ(state(other), trenode::v1::ANALYSIS_STATE_RUNNING);
  EXPECT_EQ(state(second), trenode::v1::ANALYSIS_STATE_QUEUED);
  auto seen = analyses_.Get(kAda, second.id());
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->queue_position(), 1);
  EXPECT_EQ(analyses_.Get(kAda, first.id())->queue_position(), 0);
  finish.Notify();
  for (const Analysis& analysis : {first, second, other}) {
    for (int i = 0; i < 400 && state(analysis) != trenode::v1::ANALYSIS_STATE_SUCCEEDED; ++i) {
      absl::SleepFor(absl::Milliseconds(25));
    }
    EXPECT_EQ(state(analysis), trenode::v1::ANALYSIS_STATE_SUCCEEDED);
  }
  runner.Stop();
}

// A node that stops while a script job runs, on each real backend: Slurm
// jobs outlive the node and are collected once after the restart; sandbox
// jobs die with the node and are failed, never rerun.
template <typename Factory>
class ScriptRestartTest : public AnalysisRunnerTest {
 protected:
  // Uploaded, submitted and approved; the job appends to its only output.
  Analysis ApprovedScript(const std::string& request_id) {
    std::string archive = testing::ScriptBundle("job.sh", "echo run >> /job/outbox/runs; sleep 2",
                                                {"synth-ehr-6"}, {"runs"});
    auto bundle = analyses_.UploadBundle(kAda, "hf", archive);
    EXPECT_TRUE(bundle.ok()) << bundle.status();
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id("hf");
    request.set_request_id(request_id);
    request.mutable_script()->set_bundle_sha256(bundle->sha256());
    auto submitted = analyses_.Submit(kAda, request);
    EXPECT_TRUE(submitted.ok()) << submitted.status();
    trenode::v1::AnalysisDecisionRequest decision;
    decision.set_analysis_id(submitted->id());
    return *analyses_.Approve(kSteward, decision);
  }

  std::unique_ptr<AnalysisRunner> ScriptRunner(adapters::ComputeBackend* backend) {
    ScriptRunning scripts;
    scripts.backend = backend;
    scripts.objects = &objects_;
    scripts.jobs_dir = dir_.File("unpacked");
    scripts.limits.wall = absl::Seconds(30);
    return std::make_unique<AnalysisRunner>(
        &analyses_, &store_, &datasets_,
        [this](const trenode::v1::Dataset&) { return dir_.File("site.sqlite"); }, scripts);
  }

  // Restarts, then follows the job until the analysis ends.
  Analysis RestartAndFinish(const std::string& id) {
    std::unique_ptr<adapters::ComputeBackend> backend = Factory::Make(dir_);
    std::unique_ptr<AnalysisRunner> runner = ScriptRunner(backend.get());
    EXPECT_TRUE(runner->Reconcile().ok());
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline && !IsFinal(Stored(id).state())) {
      runner->PollJobs();
      absl::SleepFor(absl::Milliseconds(100));
    }
    return Stored(id);
  }

  std::string KeptRuns(const std::string& id) {
    auto runs = adapters::ReadObject(objects_, OutputObjectKey(id, "runs"));
    return runs.ok() ? *runs : "";
  }
};

using RealBackends = ::testing::Types<testing::SandboxFactory, testing::SlurmFactory>;
TYPED_TEST_SUITE(ScriptRestartTest, RealBackends);

TYPED_TEST(ScriptRestartTest, StoppedWhileTheJobRuns) {
  Analysis analysis = this->ApprovedScript("crash-while-running");
  {
    std::unique_ptr<adapters::ComputeBackend> backend = TypeParam::Make(this->dir_);
    std::unique_ptr<AnalysisRunner> runner = this->ScriptRunner(backend.get());
    runner->RunApproved();
    EXPECT_EQ(this->Stored(analysis.id()).state(), trenode::v1::ANALYSIS_STATE_QUEUED);
    EXPECT_EQ(this->Stored(analysis.id()).backend_job_id(), analysis.id());
    absl::SleepFor(absl::Milliseconds(300));
  }  // the node stops: the sandbox's jobs die with it; Slurm's do not
  Analysis after = this->RestartAndFinish(analysis.id());
  if (std::is_same_v<TypeParam, testing::SandboxFactory>) {
    EXPECT_EQ(after.state(), trenode::v1::ANALYSIS_STATE_FAILED);
    EXPECT_EQ(after.state_reason(), "the node stopped while the job ran; it was not run again");
    EXPECT_EQ(this->KeptRuns(analysis.id()), "");
    // Charged what it used before the node stopped, from its cgroup's
    // counters kept in its job directory.
    EXPECT_NE(after.usage().metered_by(), "none");
    EXPECT_GT(after.usage().wall_micros(), 0);
  } else {
    EXPECT_EQ(after.state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED) << after.state_reason();
    EXPECT_EQ(this->KeptRuns(analysis.id()), "run\n");  // once
  }
}

// The budget bypass on a real backend: a job burns CPU and is cancelled
// before it ends. It is charged what its cgroup counted up to then, not
// nothing, and its estimate holds against the budget until it is.
TYPED_TEST(ScriptRestartTest, AJobCancelledWhileRunningIsChargedWhatItUsed) {
  // Burns 1.5 s of its own CPU, says so in its outbox, then waits to be
  // cancelled.
  std::string archive = testing::ScriptBundle(
      "job.sh",
      "python3 -c 'import time\nwhile time.process_time() < 1.5: pass' && "
      "echo burned > /job/outbox/runs; sleep 60",
      {"synth-ehr-6"}, {"runs"});
  auto bundle = this->analyses_.UploadBundle(kAda, "hf", archive);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  trenode::v1::SubmitAnalysisRequest request;
  request.set_project_id("hf");
  request.set_request_id("burn-and-cancel");
  request.mutable_script()->set_bundle_sha256(bundle->sha256());
  auto submitted = this->analyses_.Submit(kAda, request);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  trenode::v1::AnalysisDecisionRequest decision;
  decision.set_analysis_id(submitted->id());
  ASSERT_TRUE(this->analyses_.Approve(kSteward, decision).ok());

  trenode::v1::ChargingConfig config;
  config.set_currency("GBP");
  auto* row = config.add_prices();
  row->set_backend("sandbox");
  row->set_cpu_hour("3600.00");  // 1.00 GBP per CPU-second
  charging::PriceTable prices = *charging::PriceTable::FromConfig(config);
  std::unique_ptr<adapters::ComputeBackend> backend = TypeParam::Make(this->dir_);
  ASSERT_NE(backend, nullptr);
  std::unique_ptr<AnalysisRunner> runner = this->ScriptRunner(backend.get());
  runner->SetPrices(&prices);
  runner->RunApproved();
  const std::filesystem::path burned =
      std::filesystem::path(this->dir_.File("jobs")) / submitted->id() / "outbox" / "runs";
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline && !std::filesystem::exists(burned)) {
    runner->PollJobs();
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(std::filesystem::exists(burned));
  trenode::v1::AnalysisDecisionRequest cancel;
  cancel.set_analysis_id(submitted->id());
  cancel.set_reason("cancelled just before the end");
  auto cancelled = this->analyses_.Cancel(kAda, cancel);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_TRUE(this->Stored(submitted->id()).metering_pending());
  EXPECT_EQ(charging::CommittedBy(this->Stored(submitted->id())).micros,
            submitted->estimate().cost().total_micros());

  deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline && this->Stored(submitted->id()).metering_pending()) {
    runner->PollJobs();
    absl::SleepFor(absl::Milliseconds(50));
  }
  Analysis stored = this->Stored(submitted->id());
  EXPECT_EQ(stored.state(), trenode::v1::ANALYSIS_STATE_CANCELLED);
  ASSERT_FALSE(stored.metering_pending());
  EXPECT_NE(stored.usage().metered_by(), "none");
  // At least the 1.5 s it burned (and within the 20 % metering tolerance
  // of it, plus the shell and interpreter start-up); charged by the price.
  EXPECT_GE(stored.usage().cpu_micros(), 1'200'000) << stored.usage().metered_by();
  EXPECT_LE(stored.usage().cpu_micros(), 3'000'000);
  EXPECT_EQ(stored.cost().total_micros(), stored.usage().cpu_micros());
  EXPECT_EQ(charging::CommittedBy(stored).micros, stored.cost().total_micros());
  EXPECT_EQ(this->KeptRuns(submitted->id()), "");  // its outputs discarded all the same
}

TYPED_TEST(ScriptRestartTest, StoppedBetweenStoringTheJobIdAndSubmitting) {
  Analysis analysis = this->ApprovedScript("crash-before-submit");
  ASSERT_TRUE(this->analyses_
                  .Advance(analysis.id(), AnalysisAction::kQueue, "",
                           [](Analysis& a) { a.set_backend_job_id(a.id()); })
                  .ok());
  Analysis after = this->RestartAndFinish(analysis.id());
  EXPECT_EQ(after.state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED) << after.state_reason();
  EXPECT_EQ(this->KeptRuns(analysis.id()), "run\n");
  ASSERT_EQ(after.script_outcome().outputs_size(), 1);
  EXPECT_EQ(after.script_outcome().outputs(0).size(), 4);
}

}  // namespace
}  // namespace trenode::analyses
