// Pages of analyses and releases are served from an index for every
// combination of filters: a researcher's or a checker's page must not cost a
// walk over every row the node has ever stored.
#include <string>

#include "gtest/gtest.h"
#include "node/analyses/sqlite_analysis_store.h"
#include "node/releases/release_store.h"
#include "node/storage/migrations.h"
#include "node/storage/node_schema.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::storage {
namespace {

// SQLite's plan for `sql`, one line per step.
std::string PlanOf(SqliteDb& db, const std::string& sql) {
  auto explain = db.Prepare("EXPLAIN QUERY PLAN " + sql);
  EXPECT_TRUE(explain.ok()) << explain.status();
  std::string plan;
  while (true) {
    auto row = explain->Step();
    EXPECT_TRUE(row.ok()) << row.status();
    if (!row.ok() || !*row) return plan;
    plan += explain->Text(3) + "\n";
  }
}

class ListPlansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *SqliteDb::Open(dir_.File("node.db"));
    ASSERT_TRUE(ApplyMigrations(*db_, NodeSchemaMigrations()).ok());
  }
  testing::TempDir dir_;
  std::unique_ptr<SqliteDb> db_;
};

TEST_F(ListPlansTest, EveryFilteredPageOfAnalysesSearchesAnIndex) {
  for (int mask = 1; mask < 8; ++mask) {
    analyses::AnalysisFilter filter;
    if (mask & 1) filter.project_id = "p";
    if (mask & 2) filter.submitter = "ada@site-a";
    if (mask & 4) filter.state = trenode::v1::ANALYSIS_STATE_QUEUED;
    std::string plan = PlanOf(*db_, analyses::SqliteAnalysisStore::ListSql(filter));
    SCOPED_TRACE(plan);
    EXPECT_NE(plan.find("USING INDEX analyses_by_"), std::string::npos);
    EXPECT_EQ(plan.find("SCAN"), std::string::npos);
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos);
  }
  // Unfiltered (a steward's page): the primary key, in id order, no sort.
  std::string all = PlanOf(*db_, analyses::SqliteAnalysisStore::ListSql({}));
  EXPECT_NE(all.find("PRIMARY KEY (id>?)"), std::string::npos) << all;
  EXPECT_EQ(all.find("TEMP B-TREE"), std::string::npos) << all;
}

// The differencing guard lists a project's (and a person's) analyses on
// every release: from the index alone, however large each analysis is.
TEST_F(ListPlansTest, VersionsOfAProjectsOrAPersonsAnalysesReadAnIndexAlone) {
  for (int mask = 1; mask <= 2; ++mask) {
    analyses::AnalysisFilter filter;
    if (mask & 1) filter.project_id = "p";
    if (mask & 2) filter.submitter = "ada@site-a";
    std::string plan = PlanOf(*db_, analyses::SqliteAnalysisStore::VersionsSql(filter));
    SCOPED_TRACE(plan);
    EXPECT_NE(plan.find("USING COVERING INDEX analyses_by_"), std::string::npos);
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos);
  }
}

TEST_F(ListPlansTest, EveryFilteredPageOfReleasesSearchesAnIndex) {
  for (auto [requester, state] :
       {std::pair<std::string, trenode::v1::ReleaseState>{"ada@site-a",
                                                           trenode::v1::RELEASE_STATE_UNSPECIFIED},
        {"", trenode::v1::RELEASE_STATE_IN_REVIEW},
        {"ada@site-a", trenode::v1::RELEASE_STATE_IN_REVIEW}}) {
    std::string plan = PlanOf(*db_, releases::SqliteReleaseStore::ListSql(requester, state));
    SCOPED_TRACE(plan);
    EXPECT_NE(plan.find("USING INDEX releases_by_"), std::string::npos);
    EXPECT_EQ(plan.find("SCAN"), std::string::npos);
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos);
  }
}

}  // namespace
}  // namespace trenode::storage
