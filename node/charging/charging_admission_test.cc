// Budgets at submission over the real SQLite stores (spec/charging.md,
// "Budgets"): a submission whose estimate would pass the project's budget
// is refused naming the budget, what is left and the estimate, the one
// that fits is allowed, every refusal is in the activity log, and two
// concurrent submissions cannot both pass a budget that fits only one.
#include "node/charging/charging_admission.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/match.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "node/analyses/analyses.h"
#include "node/analyses/analysis_runner.h"
#include "node/charging/charging.h"
#include "node/charging/money.h"
#include "node/analyses/sqlite_analysis_store.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/charging/sqlite_budget_store.h"
#include "node/governance/sqlite_governance_store.h"
#include "node/log/activity_log.h"
#include "node/log/signed_note.h"
#include "node/ingest/dataset_builder.h"
#include "node/storage/node_schema.h"
#include "node/synth/generator.h"
#include "adapters/memory/memory_object_store.h"
#include "adapters/onprem/posix_object_store.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::charging {
namespace {

using google::protobuf::util::TimeUtil;
using trenode::v1::Analysis;

const auth::Principal kAda{"ada", trenode::v1::ROLE_RESEARCHER};
const auth::Principal kSteward{"sam", trenode::v1::ROLE_DATA_STEWARD};

class RecordingSink : public log::EventSink {
 public:
  absl::Status Record(const auth::Principal&, log::ActivityEvent event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
    return absl::OkStatus();
  }
  std::vector<log::ActivityEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  absl::Mutex mu_;
  std::vector<log::ActivityEvent> events_;
};

// Holds each Admit until the other of a pair of submissions has reached it
// too (or half a second has passed), so that without Analyses' admission
// lock both would read the same committed spending; with it, the second
// cannot reach Admit before the first is stored, and the first goes on
// alone once the wait lapses.
class RendezvousAdmission : public analyses::Admission {
 public:
  explicit RendezvousAdmission(analyses::Admission* inner) : inner_(inner) {}
  absl::StatusOr<trenode::v1::Estimate> Estimate(const Analysis& analysis) override {
    return inner_->Estimate(analysis);
  }
  absl::Status Admit(const Analysis& analysis, const trenode::v1::Estimate& estimate) override {
    {
      absl::MutexLock lock(&mu_);
      ++arrived_;
      auto paired = [](int* arrived) { return *arrived % 2 == 0; };
      mu_.AwaitWithTimeout(absl::Condition(+paired, &arrived_), absl::Milliseconds(500));
    }
    return inner_->Admit(analysis, estimate);
  }

 private:
  analyses::Admission* inner_;
  absl::Mutex mu_;
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
};

class ChargingAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const synth::SynthOptions options{6, 300};
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

    trenode::v1::ChargingConfig config;
    config.set_currency("GBP");
    auto* query = config.add_prices();
    query->set_backend("query");
    query->set_per_analysis("1.00");  // each query costs exactly 1.00 GBP
    prices_ = *PriceTable::FromConfig(config);
    analyses_.SetAdmission(&admission_);
  }

  void SetBudget(const std::string& amount) {
    trenode::v1::Budget budget;
    budget.set_project_id("hf");
    budget.set_monthly_micros(*ParseMoney(amount, "budget"));
    ASSERT_TRUE(budgets_.Put(budget).ok());
  }

  absl::StatusOr<Analysis> Submit(const std::string& request_id) {
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
    return analyses_.Submit(kAda, request);
  }

  int Refusals() {
    int refusals = 0;
    for (const log::ActivityEvent& event : sink_.events()) {
      refusals += event.action == "analysis.budget_refused" && event.outcome == "deny";
    }
    return refusals;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::SqlitePool> pool_ =
      *storage::SqlitePool::Open(dir_.File("node.db"), 4, storage::NodeSchemaMigrations());
  catalogue::SqliteCatalogueStore datasets_{pool_.get()};
  governance::SqliteGovernanceStore projects_{pool_.get()};
  governance::Governance governance_{&projects_, &datasets_, "site-a"};
  analyses::SqliteAnalysisStore store_{pool_.get()};
  adapters::MemoryObjectStore objects_;
  RecordingSink sink_;
  analyses::Analyses analyses_{&store_,   &governance_, &projects_, &datasets_,
                               &objects_, "site-a",     &absl::Now, &sink_};
  SqliteBudgetStore budgets_{pool_.get()};
  PriceTable prices_;
  ChargingAdmission admission_{&prices_, &budgets_, &store_, ScriptBounds(), nullptr};
};

TEST_F(ChargingAdmissionTest, RefusesTheSubmissionThatWouldPassTheBudgetAndAllowsTheOneThatFits) {
  SetBudget("2.50");
  absl::StatusOr<Analysis> first = Submit("one");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->estimate().cost().total_micros(), 1'000'000);
  EXPECT_EQ(first->estimate().budget_left_micros(), 2'500'000);
  ASSERT_TRUE(Submit("two").ok());
  absl::StatusOr<Analysis> third = Submit("three");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(third.status().message().find("project hf's budget of 2.50 GBP for "),
            std::string::npos)
      << third.status();
  EXPECT_NE(third.status().message().find("has 0.50 GBP left; this analysis is estimated at "
                                          "1.00 GBP"),
            std::string::npos)
      << third.status();
  EXPECT_EQ(Refusals(), 1);
  // Nothing was recorded for the refused one: a retry after a steward
  // raises the budget goes through.
  SetBudget("3.00");
  absl::StatusOr<Analysis> retried = Submit("three");
  ASSERT_TRUE(retried.ok()) << retried.status();
  auto budget = admission_.BudgetNow("hf");
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->committed_micros(), 3'000'000);
}

TEST_F(ChargingAdmissionTest, TwoConcurrentSubmissionsCannotBothPassABudgetThatFitsOne) {
  RendezvousAdmission rendezvous(&admission_);
  analyses_.SetAdmission(&rendezvous);
  for (int round = 0; round < 5; ++round) {
    SetBudget(absl::StrCat(round + 1, ".00"));  // room for exactly one more
    std::atomic<int> admitted{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        absl::StatusOr<Analysis> result = Submit(absl::StrCat("r", round, "-", t));
        if (result.ok()) {
          ++admitted;
        } else if (absl::IsResourceExhausted(result.status())) {
          ++refused;
        } else {
          ADD_FAILURE() << result.status();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(admitted.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), 1) << "round " << round;
  }
  EXPECT_EQ(admission_.BudgetNow("hf")->committed_micros(), 5'000'000);
}

TEST_F(ChargingAdmissionTest, WithoutABudgetEverySubmissionIsAdmittedWithItsEstimate) {
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Analysis> submitted = Submit(absl::StrCat("free-", i));
    ASSERT_TRUE(submitted.ok()) << submitted.status();
    EXPECT_EQ(submitted->estimate().budget_left_micros(), -1);
    EXPECT_EQ(submitted->estimate().basis(), "no row estimate: the fee alone");
  }
  EXPECT_EQ(Refusals(), 0);
}

// A project with more analyses in a month than one page of the store (200):
// the month was read again from its start, endlessly, once a full page's
// analyses had been moved out (the next page began after an empty id), so
// admission hung and its memory grew until the node was killed.
TEST_F(ChargingAdmissionTest, AMonthOfMoreAnalysesThanAPageIsReadOnce) {
  std::atomic<bool> done{false};
  std::thread watchdog([&done] {
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (!done.load() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
    if (!done.load()) {
      std::fprintf(stderr, "the month's analyses were still being read after 60 s\n");
      std::abort();  // before its memory takes the machine's
    }
  });
  constexpr int kRuns = 401;  // two full pages and one more
  SetBudget(absl::StrCat(kRuns, ".00"));
  for (int i = 0; i < kRuns; ++i) {
    absl::StatusOr<Analysis> submitted = Submit(absl::StrCat("many-", i));
    ASSERT_TRUE(submitted.ok()) << i << ": " << submitted.status();
  }
  EXPECT_EQ(Submit("one-too-many").status().code(), absl::StatusCode::kResourceExhausted);
  absl::StatusOr<trenode::v1::Budget> budget = admission_.BudgetNow("hf");
  ASSERT_TRUE(budget.ok()) << budget.status();
  EXPECT_EQ(budget->committed_micros(), int64_t{kRuns} * 1'000'000);
  done = true;
  watchdog.join();
}

TEST(RoundUpToOneSignificantDigitTest, NeverBelowTheCountAndAtMostOneDigit) {
  EXPECT_EQ(RoundUpToOneSignificantDigit(0), 0);
  EXPECT_EQ(RoundUpToOneSignificantDigit(1), 1);
  EXPECT_EQ(RoundUpToOneSignificantDigit(9), 9);
  EXPECT_EQ(RoundUpToOneSignificantDigit(10), 10);
  EXPECT_EQ(RoundUpToOneSignificantDigit(11), 20);
  EXPECT_EQ(RoundUpToOneSignificantDigit(4321), 5000);
  EXPECT_EQ(RoundUpToOneSignificantDigit(9001), 10000);
  EXPECT_EQ(RoundUpToOneSignificantDigit(1'310'000), 2'000'000);
}

// The estimate a researcher sees does not give the dataset's exact size.
TEST_F(ChargingAdmissionTest, AQuerysEstimateGivesRowsToOneSignificantDigit) {
  ChargingAdmission exact{&prices_, &budgets_, &store_, ScriptBounds(),
                          [](const Analysis&) -> absl::StatusOr<int64_t> { return 4321; }};
  analyses_.SetAdmission(&exact);
  absl::StatusOr<Analysis> submitted = Submit("rounded");
  analyses_.SetAdmission(&admission_);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_EQ(submitted->estimate().usage().rows_read(), 5000);
  EXPECT_EQ(submitted->estimate().usage().cpu_micros(), 5000 * kDefaultQueryNanosPerRow / 1000);
  EXPECT_FALSE(absl::StrContains(submitted->estimate().basis(), "4321"));
}

// A dataset that cannot be read when the estimate is made (changed in the
// object store) neither refuses the submission nor tells the researcher why:
// the run fails on its own, where the node's staff get the detail.
TEST_F(ChargingAdmissionTest, AnUnreadableDatasetGivesTheFeeAloneAndNoDetail) {
  ChargingAdmission unreadable{
      &prices_, &budgets_, &store_, ScriptBounds(), [](const Analysis&) -> absl::StatusOr<int64_t> {
        return absl::DataLossError("the object datasets/x/secret.sqlite has SHA-256 abc");
      }};
  analyses_.SetAdmission(&unreadable);
  absl::StatusOr<Analysis> submitted = Submit("unreadable");
  analyses_.SetAdmission(&admission_);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_EQ(submitted->estimate().usage().rows_read(), 0);
  EXPECT_EQ(submitted->estimate().cost().total_micros(), 1'000'000);
  const std::string& basis = submitted->estimate().basis();
  EXPECT_TRUE(absl::StrContains(basis, "the fee alone")) << basis;
  EXPECT_FALSE(absl::StrContains(basis, "secret")) << basis;
  EXPECT_FALSE(absl::StrContains(basis, "SHA-256")) << basis;
}

// Real queries, metered by the node as they run, then the month's statement:
// its total is exactly the sum of its lines, each line is what the analysis
// keeps, and a researcher outside the project cannot read it.
// The budget bypass: a researcher runs a query and cancels it just before it
// ends, hoping it is not charged. Its estimate stays committed while it is
// metered, so the budget cannot be spent twice in that window, and it is
// then charged what it used, from the query thread's own counters.
TEST_F(ChargingAdmissionTest, AQueryCancelledWhileRunningIsChargedWhatItUsed) {
  trenode::v1::ChargingConfig config;
  config.set_currency("GBP");
  auto* query = config.add_prices();
  query->set_backend("query");
  query->set_cpu_hour("360.00");
  query->set_per_analysis("1.00");
  prices_ = *PriceTable::FromConfig(config);
  SetBudget("2.00");
  absl::StatusOr<Analysis> target = Submit("cancel-me");
  ASSERT_TRUE(target.ok()) << target.status();
  trenode::v1::AnalysisDecisionRequest approve;
  approve.set_analysis_id(target->id());
  ASSERT_TRUE(analyses_.Approve(kSteward, approve).ok());
  int64_t committed_while_metering = -1;
  int admitted_while_metering = 0;
  analyses::AnalysisRunner runner(
      &analyses_, &store_, &datasets_,
      [&](const trenode::v1::Dataset&) -> absl::StatusOr<std::string> {
        trenode::v1::AnalysisDecisionRequest cancel;
        cancel.set_analysis_id(target->id());
        cancel.set_reason("just before the end");
        EXPECT_TRUE(analyses_.Cancel(kAda, cancel).ok());
        committed_while_metering = admission_.BudgetNow("hf")->committed_micros();
        // 1.00 of 2.00 is left, not 2.00: one more fits, a second does not.
        for (int i = 0; i < 2; ++i) admitted_while_metering += Submit(absl::StrCat("m", i)).ok();
        return dir_.File("site.sqlite");
      });
  runner.SetPrices(&prices_);
  runner.RunApproved();
  runner.RunQueued();
  EXPECT_EQ(committed_while_metering, 1'000'000);
  EXPECT_EQ(admitted_while_metering, 1);

  Analysis stored = *store_.Get(target->id());
  EXPECT_EQ(stored.state(), trenode::v1::ANALYSIS_STATE_CANCELLED);
  EXPECT_FALSE(stored.metering_pending());
  EXPECT_FALSE(stored.has_result());
  EXPECT_EQ(stored.usage().metered_by(), "query-thread");
  EXPECT_GT(stored.usage().cpu_micros(), 0);
  ASSERT_TRUE(stored.has_cost());
  EXPECT_EQ(stored.cost().total_micros(), (stored.usage().cpu_micros() + 5) / 10 + 1'000'000);
  bool noted = false;
  for (const log::ActivityEvent& event : sink_.events()) {
    noted = noted || (event.action == "analysis.note" &&
                      absl::StartsWith(event.reason, "metered after cancellation: "));
  }
  EXPECT_TRUE(noted);
  // The statement shows it charged, not estimated, and still adds up.
  Charging charging(&admission_, &budgets_, &governance_, &absl::Now, &sink_);
  trenode::v1::GetProjectUsageRequest request;
  request.set_project_id("hf");
  absl::StatusOr<trenode::v1::ProjectUsage> statement = charging.GetProjectUsage(kAda, request);
  ASSERT_TRUE(statement.ok()) << statement.status();
  int64_t sum = 0;
  for (const trenode::v1::UsageLine& line : statement->lines()) {
    sum += line.cost().total_micros();
    if (line.analysis_id() == target->id()) {
      EXPECT_FALSE(line.estimated());
      EXPECT_EQ(line.cost().total_micros(), stored.cost().total_micros());
    }
  }
  EXPECT_EQ(statement->total_micros(), sum);
  EXPECT_EQ(sum, stored.cost().total_micros() + 1'000'000);  // and the one admitted
  // A second pass (or a restart) charges it not twice.
  ASSERT_TRUE(runner.Reconcile().ok());
  EXPECT_EQ(store_.Get(target->id())->sequence(), stored.sequence());
}

// Appends nothing from the outbox: the log's append fails after the change's
// transaction has committed, as when the node stops between them.
class FailingAppendSink : public log::EventSink {
 public:
  explicit FailingAppendSink(log::ActivityLog* log) : log_(log) {}
  absl::Status Record(const auth::Principal& actor, log::ActivityEvent event) override {
    return log_->Record(actor, std::move(event));
  }
  std::string OutboxRecord(const auth::Principal& actor, log::ActivityEvent event) override {
    return log_->OutboxRecord(actor, std::move(event));
  }
  absl::Status AppendFromOutbox(int64_t, const std::string&) override {
    return absl::UnavailableError("the node stopped");
  }

 private:
  log::ActivityLog* log_;
};

class FailingBudgetStore : public BudgetStore {
 public:
  absl::StatusOr<std::optional<trenode::v1::Budget>> Get(const std::string&) override {
    return std::nullopt;
  }
  absl::Status Put(const trenode::v1::Budget&) override {
    return absl::UnavailableError("disk full");
  }
};

// A budget change and its activity-log record are one unit: a failure
// between saving it and appending its record leaves the record in the
// outbox, appended when the log next opens (never an unlogged change), and
// a save that fails records nothing.
TEST_F(ChargingAdmissionTest, ABudgetChangeIsNeverUnloggedNorLoggedUnmade) {
  const std::string path = dir_.File("node.db");
  log::NoteSigner signer = *log::NoteSigner::Generate("trenode.test/site-a");
  trenode::v1::SetBudgetRequest set;
  set.set_project_id("hf");
  set.set_monthly("42.00");
  set.set_reason("pilot year");
  uint64_t size_before = 0;
  {
    auto activity = log::ActivityLog::Open(path, signer, "site-a");
    ASSERT_TRUE(activity.ok()) << activity.status();
    size_before = (*activity)->size();
    FailingAppendSink failing(activity->get());
    Charging charging(&admission_, &budgets_, &governance_, &absl::Now, &failing);
    absl::Status set_status = charging.SetBudget(kSteward, set).status();
    EXPECT_EQ(set_status.code(), absl::StatusCode::kInternal) << set_status;
    EXPECT_EQ((*activity)->size(), size_before);  // not appended yet
  }
  EXPECT_EQ((*budgets_.Get("hf"))->monthly_micros(), 42'000'000);  // the change stands
  auto reopened = log::ActivityLog::Open(path, signer, "site-a");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->recovered_at_open(), 1u);
  ASSERT_EQ((*reopened)->size(), size_before + 1);
  auto leaves = (*reopened)->Leaves(size_before, size_before + 1);
  ASSERT_TRUE(leaves.ok()) << leaves.status();
  EXPECT_NE(leaves->at(0).find("project.budget_set"), std::string::npos);
  EXPECT_NE(leaves->at(0).find("monthly 42.00"), std::string::npos);

  // A save that fails records nothing.
  FailingBudgetStore broken;
  Charging failing_store(&admission_, &broken, &governance_, &absl::Now, reopened->get());
  set.set_monthly("43.00");
  EXPECT_EQ(failing_store.SetBudget(kSteward, set).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*reopened)->size(), size_before + 1);
}

TEST_F(ChargingAdmissionTest, StatementTotalIsTheSumOfItsLinesOfRealRuns) {
  trenode::v1::ChargingConfig config;
  config.set_currency("GBP");
  auto* query = config.add_prices();
  query->set_backend("query");
  query->set_cpu_hour("360.00");  // 0.1 per CPU-second: a query's CPU costs something
  query->set_per_analysis("0.25");
  prices_ = *PriceTable::FromConfig(config);
  analyses::AnalysisRunner runner(
      &analyses_, &store_, &datasets_,
      [this](const trenode::v1::Dataset&) { return dir_.File("site.sqlite"); });
  runner.SetPrices(&prices_);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Analysis> submitted = Submit(absl::StrCat("run-", i));
    ASSERT_TRUE(submitted.ok()) << submitted.status();
    trenode::v1::AnalysisDecisionRequest approve;
    approve.set_analysis_id(submitted->id());
    ASSERT_TRUE(analyses_.Approve(kSteward, approve).ok());
  }
  ASSERT_TRUE(Submit("waiting").ok());  // not approved: its estimate stands
  // Read once with every estimate standing: each run's change must be seen
  // (its sequence grows), not the totals read here.
  absl::StatusOr<trenode::v1::Budget> before = admission_.BudgetNow("hf");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->committed_micros(), 4 * 250'000);  // the fees: no row estimate here
  runner.RunApproved();
  runner.RunQueued();

  Charging charging(&admission_, &budgets_, &governance_, &absl::Now, &sink_);
  trenode::v1::GetProjectUsageRequest request;
  request.set_project_id("hf");
  absl::StatusOr<trenode::v1::ProjectUsage> statement = charging.GetProjectUsage(kAda, request);
  ASSERT_TRUE(statement.ok()) << statement.status();
  ASSERT_EQ(statement->lines_size(), 4);
  EXPECT_EQ(statement->currency(), "GBP");
  int64_t sum = 0, metered = 0;
  for (const trenode::v1::UsageLine& line : statement->lines()) {
    sum += line.cost().total_micros();
    Analysis stored = *store_.Get(line.analysis_id());
    if (line.estimated()) {
      EXPECT_EQ(line.cost().total_micros(), stored.estimate().cost().total_micros());
      continue;
    }
    ++metered;
    EXPECT_EQ(stored.state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED);
    EXPECT_EQ(line.usage().metered_by(), "query-thread");
    EXPECT_GT(line.usage().cpu_micros(), 0);
    // Kept with the analysis, withheld from the researcher's statement: the
    // rows read are the cohort's exact size.
    EXPECT_EQ(stored.usage().rows_read(), stored.result().cohort_size());
    EXPECT_EQ(line.usage().rows_read(), 0);
    EXPECT_EQ(line.cost().total_micros(), stored.cost().total_micros());
    // Its lines: the CPU at 0.1 per second, rounded half up, and the fee.
    EXPECT_EQ(line.cost().total_micros(),
              (line.usage().cpu_micros() + 5) / 10 + 250'000);
  }
  EXPECT_EQ(metered, 3);
  EXPECT_EQ(statement->total_micros(), sum);
  EXPECT_EQ(statement->budget().committed_micros(), sum);
  EXPECT_GT(sum, before->committed_micros());  // the runs' CPU, not the estimates read before

  // Another researcher sees nothing of it; nor may a researcher set budgets.
  const auth::Principal bob{"bob", trenode::v1::ROLE_RESEARCHER};
  EXPECT_FALSE(charging.GetProjectUsage(bob, request).ok());
  EXPECT_FALSE(charging.GetBudget(bob, "hf").ok());
  trenode::v1::SetBudgetRequest set;
  set.set_project_id("hf");
  set.set_monthly("100.00");
  set.set_reason("pilot");
  EXPECT_EQ(charging.SetBudget(kAda, set).status().code(), absl::StatusCode::kPermissionDenied);
  absl::StatusOr<trenode::v1::Budget> budget = charging.SetBudget(kSteward, set);
  ASSERT_TRUE(budget.ok()) << budget.status();
  EXPECT_EQ(budget->monthly_micros(), 100'000'000);
  EXPECT_EQ(budget->updated_by(), "sam@site-a");
  bool logged = false;
  for (const log::ActivityEvent& event : sink_.events()) {
    logged = logged || (event.action == "project.budget_set" &&
                        event.reason ==
                            "monthly 100.00 GBP, cpu quota 0 s, storage quota 0 bytes: pilot");
  }
  EXPECT_TRUE(logged);
  set.set_monthly("1.2.3");
  EXPECT_EQ(charging.SetBudget(kSteward, set).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A quota whose micro-seconds would overflow is refused, naming the field.
  set.set_monthly("100.00");
  set.set_cpu_seconds_quota(std::numeric_limits<int64_t>::max());
  absl::Status absurd = charging.SetBudget(kSteward, set).status();
  EXPECT_EQ(absurd.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(absurd.message(), "cpu_seconds_quota: ")) << absurd;
  set.set_cpu_seconds_quota(0);
  request.set_month("2027-13");
  EXPECT_EQ(charging.GetProjectUsage(kAda, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.clear_month();

  // A second researcher of the project sees none of ada's analyses, only
  // one line of the others' spending, and the same total.
  trenode::v1::ProposeMemberRequest propose;
  propose.set_project_id("hf");
  propose.set_person("bob@site-a");
  ASSERT_TRUE(governance_.ProposeMember(kAda, propose).ok());
  trenode::v1::MemberDecisionRequest approve_bob;
  approve_bob.set_project_id("hf");
  approve_bob.set_person("bob@site-a");
  ASSERT_TRUE(governance_.ApproveMember(kSteward, approve_bob).ok());
  absl::StatusOr<trenode::v1::ProjectUsage> seen_by_bob = charging.GetProjectUsage(bob, request);
  ASSERT_TRUE(seen_by_bob.ok()) << seen_by_bob.status();
  ASSERT_EQ(seen_by_bob->lines_size(), 1);
  EXPECT_EQ(seen_by_bob->lines(0).kind(), "others");
  EXPECT_EQ(seen_by_bob->lines(0).analysis_id(), "4 analyses");
  EXPECT_EQ(seen_by_bob->lines(0).cost().total_micros(), sum);
  EXPECT_EQ(seen_by_bob->total_micros(), sum);

  // A steward with no part in the project sees the rows each query read.
  absl::StatusOr<trenode::v1::ProjectUsage> independent =
      charging.GetProjectUsage(kSteward, request);
  ASSERT_TRUE(independent.ok()) << independent.status();
  int with_rows = 0;
  for (const auto& line : independent->lines()) with_rows += line.usage().rows_read() > 0;
  EXPECT_EQ(with_rows, 3);
  // A steward who belongs to the project may not set its budget.
  set.set_monthly("100.00");
  propose.set_person("sam@site-a");
  ASSERT_TRUE(governance_.ProposeMember(kAda, propose).ok());
  EXPECT_EQ(charging.SetBudget(kSteward, set).status().code(),
            absl::StatusCode::kPermissionDenied);
  // That steward, now involved, sees no cohort sizes either.
  absl::StatusOr<trenode::v1::ProjectUsage> involved = charging.GetProjectUsage(kSteward, request);
  ASSERT_TRUE(involved.ok()) << involved.status();
  for (const auto& line : involved->lines()) EXPECT_EQ(line.usage().rows_read(), 0);
}

}  // namespace
}  // namespace trenode::charging
