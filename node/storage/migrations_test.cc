#include "node/storage/migrations.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::storage {
namespace {

const Migration kV1{1, "people", "CREATE TABLE people(name TEXT NOT NULL);"};
const Migration kV2{2, "ages", "ALTER TABLE people ADD COLUMN age INTEGER NOT NULL DEFAULT 0;"};

TEST(MigrationsTest, UpgradesAnExistingDatabaseKeepingItsRows) {
  testing::TempDir dir;
  {
    auto db = *SqliteDb::Open(dir.File("m.db"));
    std::vector<Migration> v1_only = {kV1};
    ASSERT_EQ(*ApplyMigrations(*db, v1_only), 1);
    ASSERT_TRUE(db->Exec("INSERT INTO people(name) VALUES ('ada')").ok());
  }
  auto db = *SqliteDb::Open(dir.File("m.db"));
  std::vector<Migration> both = {kV1, kV2};
  ASSERT_EQ(*ApplyMigrations(*db, both), 2);
  auto select = *db->Prepare("SELECT name, age FROM people");
  ASSERT_TRUE(*select.Step());
  EXPECT_EQ(select.Text(0), "ada");
  EXPECT_EQ(select.Int64(1), 0);
}

TEST(MigrationsTest, ApplyingTwiceIsANoOp) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("m.db"));
  std::vector<Migration> both = {kV1, kV2};
  ASSERT_EQ(*ApplyMigrations(*db, both), 2);
  // Re-running would fail on "table people already exists" if not skipped.
  ASSERT_EQ(*ApplyMigrations(*db, both), 2);
  EXPECT_EQ(*SchemaVersion(*db), 2);
}

TEST(MigrationsTest, FailedMigrationLeavesThePreviousVersion) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("m.db"));
  std::vector<Migration> broken = {kV1,
                                   {2, "broken", "CREATE TABLE x(a); CREATE TABLE people(b);"}};
  auto result = ApplyMigrations(*db, broken);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("migration 2 (broken)"), std::string::npos);
  EXPECT_EQ(*SchemaVersion(*db), 1);
  // The half of migration 2 that ran was rolled back with it.
  EXPECT_FALSE(db->Prepare("SELECT * FROM x").ok());
}

TEST(MigrationsTest, RefusesADatabaseFromANewerVersion) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("m.db"));
  std::vector<Migration> both = {kV1, kV2};
  ASSERT_TRUE(ApplyMigrations(*db, both).ok());
  std::vector<Migration> v1_only = {kV1};
  auto result = ApplyMigrations(*db, v1_only);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(result.status().message().find("newer"), std::string::npos);
}

}  // namespace
}  // namespace trenode::storage
