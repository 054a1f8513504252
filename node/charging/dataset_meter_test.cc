// Approved datasets charged to the projects approved for them
// (spec/charging.md, "Approved datasets"), over the real SQLite ledger and
// governance store: each project is charged a dataset's bytes for the time
// it may use it (approval to suspension, resumption to expiry), at the
// bytes of the version current then, by its own price; a retired dataset
// stops being charged; repeated metering never splits an interval; a
// change whose metering was missed is caught up by Reconcile from then on;
// datasets are not the project's storage for its quota; and a researcher
// sees the cost but not the dataset's size.
#include "node/charging/dataset_meter.h"

#include <map>

#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "node/analyses/sqlite_analysis_store.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/charging/charging.h"
#include "node/charging/charging_admission.h"
#include "node/charging/sqlite_budget_store.h"
#include "node/charging/sqlite_storage_ledger.h"
#include "node/common/dates.h"
#include "node/governance/governance.h"
#include "node/governance/sqlite_governance_store.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::charging {
namespace {

using trenode::v1::Project;

const auth::Principal kAda{"ada", trenode::v1::ROLE_RESEARCHER};
const auth::Principal kSteward{"sam", trenode::v1::ROLE_DATA_STEWARD};
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kDay = int64_t{86'400};

absl::Time Feb(int day) {
  return absl::FromCivil(absl::CivilDay(2027, 2, day), absl::UTCTimeZone());
}

class DatasetMeterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"ehr", "imaging"}) {
      trenode::v1::Dataset dataset;
      dataset.set_id(id);
      dataset.set_title(id);
      dataset.set_version(1);
      dataset.set_state(trenode::v1::DATASET_STATE_ACTIVE);
      dataset.mutable_steward()->set_storage_location(absl::StrCat("datasets/", id));
      ASSERT_TRUE(datasets_.Create(dataset).ok());
    }
    bytes_["ehr"] = 2 * kGiB;
    bytes_["imaging"] = 4 * kGiB;
    governance_.set_on_project_changed([this](const Project& project) {
      if (metering_) EXPECT_TRUE(meter_.ProjectChanged(project).ok());
    });
    trenode::v1::ChargingConfig config;
    config.set_currency("GBP");
    auto* row = config.add_prices();
    row->set_backend("storage");
    row->set_storage_gib_month("56.00");  // not the datasets' price
    row->set_dataset_gib_month("28.00");  // 1.00 a GiB-day in February
    prices_ = *PriceTable::FromConfig(config);
    admission_.set_storage(&ledger_);
  }

  void Create(const std::string& id) {
    Project project;
    project.set_id(id);
    project.set_title("Heart failure");
    project.set_lay_summary("Heart failure in routine records.");
    project.add_requested_dataset_ids("ehr");
    ASSERT_TRUE(governance_.CreateProject(kAda, project).ok());
  }

  void Approve(const std::string& id, std::vector<std::string> dataset_ids, absl::Time expires) {
    trenode::v1::ApproveProjectRequest approve;
    approve.set_project_id(id);
    approve.set_reference("REC 1");
    *approve.mutable_expires() = ToTimestamp(expires);
    for (const std::string& dataset : dataset_ids) approve.add_dataset_ids(dataset);
    absl::StatusOr<Project> approved = governance_.ApproveProject(kSteward, approve);
    ASSERT_TRUE(approved.ok()) << approved.status();
  }

  void Decide(const std::string& id, governance::ProjectAction action) {
    trenode::v1::ProjectDecisionRequest request;
    request.set_project_id(id);
    request.set_reason("an audit");
    absl::StatusOr<Project> decided = governance_.DecideProject(kSteward, action, request);
    ASSERT_TRUE(decided.ok()) << decided.status();
  }

  trenode::v1::ProjectUsage Statement(const auth::Principal& who, const std::string& project) {
    Charging charging(&admission_, &budgets_, &governance_, [this] { return now_; });
    trenode::v1::GetProjectUsageRequest request;
    request.set_project_id(project);
    request.set_month("2027-02");
    absl::StatusOr<trenode::v1::ProjectUsage> usage = charging.GetProjectUsage(who, request);
    EXPECT_TRUE(usage.ok()) << usage.status();
    return usage.ok() ? *usage : trenode::v1::ProjectUsage();
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::SqlitePool> pool_ =
      *storage::SqlitePool::Open(dir_.File("node.db"), 4, storage::NodeSchemaMigrations());
  absl::Time now_ = Feb(1);
  std::map<std::string, int64_t> bytes_;
  bool metering_ = true;
  catalogue::SqliteCatalogueStore datasets_{pool_.get()};
  governance::SqliteGovernanceStore projects_{pool_.get()};
  governance::Governance governance_{&projects_, &datasets_, "site-a", [this] { return now_; }};
  SqliteStorageLedger ledger_{pool_.get()};
  DatasetMeter meter_{&ledger_,
                      [this](const std::string& id) -> absl::StatusOr<int64_t> {
                        auto found = bytes_.find(id);
                        if (found == bytes_.end()) return absl::NotFoundError(id);
                        return found->second;
                      },
                      [this] { return now_; }};
  analyses::SqliteAnalysisStore store_{pool_.get()};
  SqliteBudgetStore budgets_{pool_.get()};
  PriceTable prices_;
  ChargingAdmission admission_{&prices_, &budgets_, &store_, ScriptBounds(), nullptr};
};

TEST_F(DatasetMeterTest, AProjectIsChargedEachDatasetForTheTimeItMayUseIt) {
  Create("hf");
  Create("other");
  Approve("hf", {"ehr"}, Feb(28));     // 2 GiB from the 1st
  Approve("other", {"ehr"}, Feb(28));  // the same file, its own charge
  now_ = Feb(5);
  Decide("hf", governance::ProjectAction::kSuspend);  // 4 days
  now_ = Feb(10);
  Decide("hf", governance::ProjectAction::kResume);
  now_ = Feb(15);
  bytes_["ehr"] = 3 * kGiB;  // a new version: 5 days at 2 GiB, then 3 GiB
  ASSERT_TRUE(meter_.DatasetChanged("ehr").ok());
  now_ = Feb(21);  // 6 days at 3 GiB

  const trenode::v1::ProjectUsage usage = Statement(kSteward, "hf");
  ASSERT_EQ(usage.lines_size(), 1);
  const trenode::v1::UsageLine& line = usage.lines(0);
  EXPECT_EQ(line.kind(), "storage");
  EXPECT_EQ(line.analysis_id(), "approved datasets");
  EXPECT_EQ(line.stored_byte_seconds(), (2 * 4 + 2 * 5 + 3 * 6) * kGiB * kDay);
  ASSERT_EQ(line.cost().lines_size(), 1);
  EXPECT_EQ(line.cost().lines(0).item(), "datasets");
  EXPECT_EQ(line.cost().total_micros(), 36'000'000);  // 36 GiB-days at 1.00, not 2.00
  EXPECT_EQ(usage.total_micros(), 36'000'000);

  // The other project: 2 GiB for 14 days, 3 GiB for 6: never suspended.
  const trenode::v1::ProjectUsage other = Statement(kSteward, "other");
  ASSERT_EQ(other.lines_size(), 1);
  EXPECT_EQ(other.lines(0).stored_byte_seconds(), (2 * 14 + 3 * 6) * kGiB * kDay);

  // Datasets are the node's copies, not what the project keeps.
  EXPECT_EQ(*ledger_.StoredNow("hf"), 0);

  // The researcher sees the cost, not the dataset's size.
  const trenode::v1::ProjectUsage own = Statement(kAda, "hf");
  ASSERT_EQ(own.lines_size(), 1);
  EXPECT_EQ(own.lines(0).stored_byte_seconds(), 0);
  EXPECT_EQ(own.lines(0).cost().lines(0).quantity(), "");
  EXPECT_EQ(own.total_micros(), 36'000'000);
}

TEST_F(DatasetMeterTest, AnApprovalEndsAtItsExpiryAndRenewalCarriesOn) {
  Create("hf");
  Approve("hf", {"ehr", "imaging"}, Feb(8));
  now_ = Feb(21);  // expired on the 8th: 7 days of 6 GiB
  EXPECT_EQ(Statement(kSteward, "hf").lines(0).stored_byte_seconds(), 6 * 7 * kGiB * kDay);
  Approve("hf", {"imaging"}, Feb(28));  // renewed on the 21st for imaging alone
  now_ = Feb(23);
  EXPECT_EQ(Statement(kSteward, "hf").lines(0).stored_byte_seconds(),
            (6 * 7 + 4 * 2) * kGiB * kDay);
}

TEST_F(DatasetMeterTest, MeteringAgainChangesNothingAndAClosureEndsIt) {
  Create("hf");
  Approve("hf", {"ehr", "imaging"}, Feb(28));
  now_ = Feb(3);
  absl::StatusOr<Project> project = projects_.GetProject("hf");
  ASSERT_TRUE(project.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(meter_.Reconcile({*project}).ok());
  EXPECT_EQ(ledger_.IntervalsOf("hf", Feb(1), Feb(28))->size(), 2u);  // not split
  Decide("hf", governance::ProjectAction::kClose);
  now_ = Feb(20);
  EXPECT_EQ(Statement(kSteward, "hf").lines(0).stored_byte_seconds(), 6 * 2 * kGiB * kDay);
}

TEST_F(DatasetMeterTest, ARetiredDatasetIsNoLongerCharged) {
  Create("hf");
  Approve("hf", {"ehr", "imaging"}, Feb(28));
  now_ = Feb(4);
  bytes_.erase("imaging");  // retired: the node's DatasetBytes says NotFound
  ASSERT_TRUE(meter_.DatasetChanged("imaging").ok());
  now_ = Feb(11);
  EXPECT_EQ(Statement(kSteward, "hf").lines(0).stored_byte_seconds(),
            (2 * 10 + 4 * 3) * kGiB * kDay);
}

TEST_F(DatasetMeterTest, AMissedChangeIsCaughtUpFromTheNextStart) {
  Create("hf");
  metering_ = false;  // the approval's metering failed
  Approve("hf", {"ehr"}, Feb(28));
  now_ = Feb(6);
  EXPECT_EQ(Statement(kSteward, "hf").lines_size(), 0);
  absl::StatusOr<std::vector<Project>> projects =
      projects_.ProjectsInStates({trenode::v1::PROJECT_STATE_APPROVED});
  ASSERT_TRUE(projects.ok());
  ASSERT_TRUE(meter_.Reconcile(*projects).ok());  // as the node does when it starts
  now_ = Feb(8);
  EXPECT_EQ(Statement(kSteward, "hf").lines(0).stored_byte_seconds(), 2 * 2 * kGiB * kDay);
}

TEST_F(DatasetMeterTest, ADatasetsFileThatCannotBeReadIsReportedAndTheOthersMetered) {
  Create("hf");
  metering_ = false;
  Approve("hf", {"ehr", "imaging"}, Feb(28));
  DatasetMeter failing(
      &ledger_,
      [](const std::string& id) -> absl::StatusOr<int64_t> {
        if (id == "ehr") return absl::UnavailableError("the object store is down");
        return 4 * kGiB;
      },
      [this] { return now_; });
  absl::StatusOr<Project> project = projects_.GetProject("hf");
  ASSERT_TRUE(project.ok());
  absl::Status metered = failing.ProjectChanged(*project);
  EXPECT_EQ(metered.code(), absl::StatusCode::kUnavailable);
  now_ = Feb(2);
  EXPECT_EQ(Statement(kSteward, "hf").lines(0).stored_byte_seconds(), 4 * kGiB * kDay);
}

}  // namespace
}  // namespace trenode::charging
