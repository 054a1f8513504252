// The SQLite release store: one open release per analysis, and a release
// stored before schema version 8 carries over unchanged.
#include "node/releases/release_store.h"

#include "gtest/gtest.h"
#include "node/storage/migrations.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::releases {
namespace {
using trenode::v1::Release;

Release Draft(const std::string& id, const std::string& analysis_id) {
  Release release;
  release.set_id(id);
  release.set_analysis_id(analysis_id);
  release.set_requester("ada@site-a");
  release.set_state(trenode::v1::RELEASE_STATE_DRAFT);
  release.add_files()->set_name("notes.txt");
  return release;
}

TEST(SqliteReleaseStoreTest, OneOpenReleasePerAnalysisAcrossTheMigration) {
  testing::TempDir dir;
  auto migrations = storage::NodeSchemaMigrations();
  ASSERT_EQ(migrations[7].version, 8);
  {
    auto db = *storage::SqliteDb::Open(dir.File("node.db"));
    ASSERT_TRUE(storage::ApplyMigrations(*db, migrations.first(7)).ok());
    auto insert = *db->Prepare(
        "INSERT INTO releases(id, analysis_id, requester, state, release) VALUES (?, ?, ?, ?, ?)");
    Release old = Draft("r-old", "a-1");
    ASSERT_TRUE(insert.Bind(1, old.id())
                    .Bind(2, old.analysis_id())
                    .Bind(3, old.requester())
                    .Bind(4, int64_t{old.state()})
                    .BindBlob(5, old.SerializeAsString())
                    .Run()
                    .ok());
  }
  auto pool = *storage::SqlitePool::Open(dir.File("node.db"), 1, migrations);
  SqliteReleaseStore store(pool.get());
  auto old = store.Get("r-old");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->files(0).name(), "notes.txt");

  EXPECT_EQ(store.Create(Draft("r-new", "a-1")).code(), absl::StatusCode::kAlreadyExists);
  Release withdrawn = *old;
  withdrawn.set_state(trenode::v1::RELEASE_STATE_WITHDRAWN);
  ASSERT_TRUE(store.Update(withdrawn, trenode::v1::RELEASE_STATE_DRAFT).ok());
  ASSERT_TRUE(store.Create(Draft("r-new", "a-1")).ok());
  EXPECT_EQ(store.Create(Draft("r-third", "a-1")).code(), absl::StatusCode::kAlreadyExists);
  auto all = store.ForAnalysis("a-1");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id(), "r-new");  // by id
  EXPECT_EQ((*all)[1].id(), "r-old");
}

}  // namespace
}  // namespace trenode::releases
