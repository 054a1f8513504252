// What a partner is told when this node fails (partner_errors.h): SQLite's
// own errors, whatever their code, never cross with their SQL or table
// names; this node's refusals cross whole.
#include "federation/partner_errors.h"

#include <memory>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/storage/sqlite.h"

namespace trenode::federation {
namespace {

using storage::SqliteDb;

std::unique_ptr<SqliteDb> MemoryDb() {
  auto db = SqliteDb::Open(":memory:", SqliteDb::Mode::kReadWriteCreate);
  EXPECT_TRUE(db.ok()) << db.status();
  EXPECT_TRUE((*db)->Exec("CREATE TABLE secret_cohorts (id TEXT PRIMARY KEY)").ok());
  return *std::move(db);
}

TEST(PartnerErrorsTest, AConstraintFailureCrossesAsAFaultWithoutItsTableName) {
  std::unique_ptr<SqliteDb> db = MemoryDb();
  ASSERT_TRUE(db->Exec("INSERT INTO secret_cohorts VALUES ('a')").ok());
  absl::Status constraint = db->Exec("INSERT INTO secret_cohorts VALUES ('a')");
  ASSERT_EQ(constraint.code(), absl::StatusCode::kFailedPrecondition) << constraint;
  ASSERT_TRUE(absl::StrContains(constraint.message(), "secret_cohorts")) << constraint;

  EXPECT_TRUE(IsFault(constraint));
  absl::Status told = ForPartner(constraint, "site-b", "/trenode.v1.Analyses/SubmitAnalysis");
  EXPECT_EQ(told.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(absl::StrContains(told.message(), "secret_cohorts")) << told;
  EXPECT_FALSE(absl::StrContains(told.message(), "constraint")) << told;
}

TEST(PartnerErrorsTest, AStatementThatDoesNotCompileCrossesAsAFaultWithoutItsSql) {
  std::unique_ptr<SqliteDb> db = MemoryDb();
  absl::StatusOr<storage::SqliteStatement> prepared =
      db->Prepare("SELECT id FROM secret_cohorts WHERE nonsense_column = 1");
  ASSERT_FALSE(prepared.ok());
  EXPECT_TRUE(IsFault(prepared.status()));
  absl::Status told = ForPartner(prepared.status(), "site-b", "/trenode.v1.Catalogue/GetDataset");
  EXPECT_EQ(told.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(absl::StrContains(told.message(), "SELECT")) << told;
  EXPECT_FALSE(absl::StrContains(told.message(), "nonsense_column")) << told;
}

TEST(PartnerErrorsTest, AMissingDatabaseIsUnavailableWithoutItsPath) {
  auto missing = SqliteDb::Open("/nonexistent-trenode-dir/node.db", SqliteDb::Mode::kReadWrite);
  ASSERT_FALSE(missing.ok());
  absl::Status told = ForPartner(missing.status(), "site-b", "/trenode.v1.Federation/GetNodeInfo");
  EXPECT_EQ(told.code(), absl::StatusCode::kUnavailable);  // the partner may retry
  EXPECT_FALSE(absl::StrContains(told.message(), "nonexistent-trenode-dir")) << told;
}

TEST(PartnerErrorsTest, ThisNodesOwnRefusalsCrossWhole) {
  const absl::Status refusal = absl::FailedPreconditionError(
      "project hf-study is not approved at this node (state: submitted)");
  EXPECT_FALSE(IsFault(refusal));
  EXPECT_EQ(ForPartner(refusal, "site-b", "/trenode.v1.Analyses/SubmitAnalysis"), refusal);
  const absl::Status not_found = absl::NotFoundError("no dataset ehr-9 here");
  EXPECT_EQ(ForPartner(not_found, "site-b", "/trenode.v1.Catalogue/GetDataset"), not_found);
  // An unmarked fault code is still replaced.
  const absl::Status data_loss = absl::DataLossError("/var/lib/trenode/x.db: bad page");
  EXPECT_EQ(ForPartner(data_loss, "site-b", "m").code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(absl::StrContains(ForPartner(data_loss, "site-b", "m").message(), "/var/lib"));
}

}  // namespace
}  // namespace trenode::federation
