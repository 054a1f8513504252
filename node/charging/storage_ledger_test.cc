// Storage and egress over the real SQLite store (spec/charging.md,
// "Storage and egress"): intervals and downloads kept per project, a
// statement whose storage and egress lines are exact and add to its total,
// an object removed mid-month charged the time it was kept, another
// project's figures apart, and a storage quota that two concurrent script
// submissions cannot both pass.
#include "node/charging/sqlite_storage_ledger.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "adapters/memory/memory_object_store.h"
#include "adapters/onprem/posix_object_store.h"
#include "node/analyses/analyses.h"
#include "node/analyses/sqlite_analysis_store.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/charging/charging.h"
#include "node/charging/charging_admission.h"
#include "node/charging/money.h"
#include "node/charging/sqlite_budget_store.h"
#include "node/governance/sqlite_governance_store.h"
#include "node/ingest/dataset_builder.h"
#include "node/storage/node_schema.h"
#include "node/synth/generator.h"
#include "tests/testutil/bundles.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::charging {
namespace {

using google::protobuf::util::TimeUtil;
using trenode::v1::Analysis;

const auth::Principal kAda{"ada", trenode::v1::ROLE_RESEARCHER};
const auth::Principal kBob{"bob", trenode::v1::ROLE_RESEARCHER};
const auth::Principal kSteward{"sam", trenode::v1::ROLE_DATA_STEWARD};
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kDay = int64_t{86'400};

absl::Time Feb(int day) {
  return absl::FromCivil(absl::CivilDay(2027, 2, day), absl::UTCTimeZone());
}

// Holds each Admit until the other of a pair has reached it too (or half a
// second has passed): without the admission lock both would read the same
// stored bytes.
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

class StorageLedgerTest : public ::testing::Test {
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
    for (const char* id : {"hf", "other"}) {
      trenode::v1::Project project;
      project.set_id(id);
      project.set_title("Heart failure");
      project.set_lay_summary("Heart failure in routine records.");
      project.add_requested_dataset_ids("synth-ehr-6");
      ASSERT_TRUE(governance_.CreateProject(std::string(id) == "hf" ? kAda : kBob, project).ok());
      trenode::v1::ApproveProjectRequest approve;
      approve.set_project_id(id);
      approve.set_reference("REC 1");
      *approve.mutable_expires() =
          TimeUtil::GetCurrentTime() + TimeUtil::HoursToDuration(24 * 30);
      approve.add_dataset_ids("synth-ehr-6");
      ASSERT_TRUE(governance_.ApproveProject(kSteward, approve).ok());
    }
    for (const char* person : {"ada@site-a", "bob@site-a"}) {
      trenode::v1::TrainingRecord training;
      training.set_person(person);
      training.set_course("Safe Researcher Training");
      training.set_completed("2026-01-10");
      training.set_expires("2099-01-10");
      ASSERT_TRUE(governance_.RecordTraining(kSteward, training).ok());
    }
    trenode::v1::ChargingConfig config;
    config.set_currency("GBP");
    auto* row = config.add_prices();
    row->set_backend("storage");
    row->set_storage_gib_month("28.00");  // 1.00 a GiB-day in February
    row->set_egress_gib("1.024");         // 1.00 a GiB... of 1000 MiB
    prices_ = *PriceTable::FromConfig(config);
    admission_.set_storage(&ledger_);
    analyses_.SetAdmission(&admission_);
  }

  absl::StatusOr<Analysis> SubmitScript(const std::string& request_id) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id("hf");
    request.set_request_id(request_id);
    request.mutable_script()->set_bundle_sha256(bundle_);
    return analyses_.Submit(kAda, request);
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::SqlitePool> pool_ =
      *storage::SqlitePool::Open(dir_.File("node.db"), 4, storage::NodeSchemaMigrations());
  catalogue::SqliteCatalogueStore datasets_{pool_.get()};
  governance::SqliteGovernanceStore projects_{pool_.get()};
  governance::Governance governance_{&projects_, &datasets_, "site-a"};
  analyses::SqliteAnalysisStore store_{pool_.get()};
  adapters::MemoryObjectStore objects_;
  analyses::Analyses analyses_{&store_,   &governance_, &projects_, &datasets_,
                               &objects_, "site-a",     &absl::Now, nullptr};
  SqliteBudgetStore budgets_{pool_.get()};
  SqliteStorageLedger ledger_{pool_.get()};
  PriceTable prices_;
  ChargingAdmission admission_{&prices_, &budgets_, &store_, ScriptBounds(), nullptr};
  std::string bundle_;
};

TEST_F(StorageLedgerTest, StatementChargesTheTimeEachObjectWasKeptAndEveryDownload) {
  // An output kept since January and still kept; a released copy revoked
  // on the 4th, after two days; five downloads of 100 MiB; and another
  // project's storage, which is not hf's.
  ASSERT_TRUE(ledger_.Stored("hf", StoredKind::kOutput, "outputs/a/x", kGiB, Feb(1) - absl::Hours(240)).ok());
  ASSERT_TRUE(ledger_.Stored("hf", StoredKind::kReleasedCopy, "egress/r/x", 2 * kGiB, Feb(2)).ok());
  ASSERT_TRUE(ledger_.Removed("egress/r/x", Feb(4)).ok());
  ASSERT_TRUE(ledger_.Removed("egress/r/x", Feb(9)).ok());  // a second removal changes nothing
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(ledger_.Egress({"hf", "r", "x", "ada@site-a", 100 * kMiB, Feb(3)}).ok());
  }
  ASSERT_TRUE(ledger_.Egress({"hf", "r", "x", "ada@site-a", 100 * kMiB, Feb(1) - absl::Seconds(1)}).ok());
  ASSERT_TRUE(ledger_.Stored("other", StoredKind::kOutput, "outputs/b/y", 50 * kGiB, Feb(1)).ok());
  // A negative size is refused, not stored.
  EXPECT_EQ(ledger_.Stored("hf", StoredKind::kOutput, "bad", -1, Feb(1)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ledger_.StoredNow("hf"), kGiB);
  EXPECT_EQ(*ledger_.StoredNow("other"), 50 * kGiB);

  Charging charging(&admission_, &budgets_, &governance_, [] { return Feb(11); });
  trenode::v1::GetProjectUsageRequest request;
  request.set_project_id("hf");
  request.set_month("2027-02");
  // A steward with no part in the project sees every quantity.
  absl::StatusOr<trenode::v1::ProjectUsage> statement = charging.GetProjectUsage(kSteward, request);
  ASSERT_TRUE(statement.ok()) << statement.status();
  ASSERT_EQ(statement->lines_size(), 3);
  const trenode::v1::UsageLine& outputs = statement->lines(0);
  EXPECT_EQ(outputs.kind(), "storage");
  EXPECT_EQ(outputs.analysis_id(), "outputs");
  EXPECT_EQ(outputs.stored_byte_seconds(), kGiB * 10 * kDay);  // the 1st to now (the 11th)
  EXPECT_EQ(outputs.cost().total_micros(), 10'000'000);
  const trenode::v1::UsageLine& released = statement->lines(1);
  EXPECT_EQ(released.analysis_id(), "released copies");
  EXPECT_EQ(released.stored_byte_seconds(), 2 * kGiB * 2 * kDay);  // revoked: its two days
  EXPECT_EQ(released.cost().total_micros(), 4'000'000);
  const trenode::v1::UsageLine& egress = statement->lines(2);
  EXPECT_EQ(egress.kind(), "egress");
  EXPECT_EQ(egress.analysis_id(), "5 downloads");  // January's is January's
  EXPECT_EQ(egress.egress_bytes(), 500 * kMiB);
  EXPECT_EQ(egress.cost().total_micros(), 500'000);  // 500 MiB at 1.024 a GiB
  int64_t sum = 0;
  for (const auto& line : statement->lines()) sum += line.cost().total_micros();
  EXPECT_EQ(statement->total_micros(), sum);
  EXPECT_EQ(sum, 14'500'000);

  // The researcher sees the same costs, but not the size of outputs not yet
  // released (as output_bytes is withheld); released copies are hers.
  absl::StatusOr<trenode::v1::ProjectUsage> own = charging.GetProjectUsage(kAda, request);
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_EQ(own->lines_size(), 3);
  EXPECT_EQ(own->lines(0).stored_byte_seconds(), 0);
  EXPECT_EQ(own->lines(0).cost().lines(0).quantity(), "");
  EXPECT_EQ(own->lines(1).stored_byte_seconds(), 2 * kGiB * 2 * kDay);
  EXPECT_EQ(own->total_micros(), sum);
  // Another project's researcher sees none of it.
  absl::Status denied = charging.GetProjectUsage(kBob, request).status();
  EXPECT_TRUE(absl::IsPermissionDenied(denied) || absl::IsNotFound(denied)) << denied;
  EXPECT_EQ(denied.message().find("GiB"), std::string::npos);
  EXPECT_FALSE(charging.GetBudget(kBob, "hf").ok());
  // Nor does hf's statement hold the other project's 50 GiB.
  request.set_project_id("other");
  absl::StatusOr<trenode::v1::ProjectUsage> other = charging.GetProjectUsage(kSteward, request);
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->lines_size(), 1);
  EXPECT_EQ(other->lines(0).cost().total_micros(), 50 * 10'000'000);
}

TEST_F(StorageLedgerTest, TwoConcurrentScriptsCannotBothPassTheStorageQuota) {
  auto bundle = analyses_.UploadBundle(
      kAda, "hf", testing::ScriptBundle("job.sh", "echo 1 > /job/outbox/x", {"synth-ehr-6"},
                                        {"x"}));
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  bundle_ = bundle->sha256();
  // 10 MiB kept; a script may keep up to its output limit (64 MiB).
  ASSERT_TRUE(ledger_.Stored("hf", StoredKind::kOutput, "outputs/old/x", 10 * kMiB, absl::Now()).ok());
  RendezvousAdmission rendezvous(&admission_);
  analyses_.SetAdmission(&rendezvous);
  for (int round = 0; round < 3; ++round) {
    trenode::v1::Budget budget;
    budget.set_project_id("hf");
    // Room for exactly one more script's outputs.
    budget.set_storage_bytes_quota(10 * kMiB + (round + 1) * 64 * kMiB + 32 * kMiB);
    ASSERT_TRUE(budgets_.Put(budget).ok());
    std::atomic<int> admitted{0}, refused{0};
    std::vector<std::thread> threads;
    std::string refusal;
    absl::Mutex mu;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        absl::StatusOr<Analysis> result = SubmitScript(absl::StrCat("s", round, "-", t));
        if (result.ok()) {
          ++admitted;
        } else if (absl::IsResourceExhausted(result.status())) {
          ++refused;
          absl::MutexLock lock(&mu);
          refusal = std::string(result.status().message());
        } else {
          ADD_FAILURE() << result.status();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(admitted.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), 1) << "round " << round;
    // Names the quota, what is used (kept and held) and what is needed.
    EXPECT_NE(refusal.find(absl::StrCat("storage quota of ", budget.storage_bytes_quota(),
                                        " bytes has ", 10 + (round + 1) * 64, " MiB used")),
              std::string::npos)
        << refusal;
    EXPECT_NE(refusal.find("needs up to 64 MiB"), std::string::npos) << refusal;
  }
  EXPECT_EQ(admission_.BudgetNow("hf")->committed_storage_bytes(), 10 * kMiB + 3 * 64 * kMiB);
}

}  // namespace
}  // namespace trenode::charging
