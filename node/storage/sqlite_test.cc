#include "node/storage/sqlite.h"

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::storage {
namespace {

TEST(SqliteTest, RoundTripsEveryColumnType) {
  testing::TempDir dir;
  auto db = SqliteDb::Open(dir.File("t.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)").ok());
  auto insert = (*db)->Prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)");
  ASSERT_TRUE(insert.ok());
  insert->Bind(1, int64_t{-42})
      .Bind(2, 2.5)
      .Bind(3, "héllo")
      .BindBlob(4, std::string("a\0b", 3))
      .BindNull(5);
  ASSERT_TRUE(insert->Run().ok());

  auto select = (*db)->Prepare("SELECT i, r, s, b, n FROM t");
  ASSERT_TRUE(select.ok());
  auto row = select->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(select->Int64(0), -42);
  EXPECT_EQ(select->Double(1), 2.5);
  EXPECT_EQ(select->Text(2), "héllo");
  EXPECT_EQ(select->Blob(3), std::string("a\0b", 3));
  EXPECT_TRUE(select->IsNull(4));
  EXPECT_FALSE(*select->Step());
}

TEST(SqliteTest, TransactionRollsBackUnlessCommitted) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("t.db"));
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x INTEGER)").ok());
  {
    SqliteTransaction txn(*db);
    ASSERT_TRUE(txn.status().ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
  }
  {
    SqliteTransaction txn(*db);
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  auto select = *db->Prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(*select.Step());
  EXPECT_EQ(select.Text(0), "2");
}

// BEGIN, COMMIT and ROLLBACK are compiled once per connection: each
// transaction after the first, committed or rolled back, and one whose
// commit failed, behaves as the first.
TEST(SqliteTest, TransactionsOneAfterAnotherOnOneConnectionEachStandAlone) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("t.db"));
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x INTEGER);"
                       "CREATE TABLE p(id INTEGER PRIMARY KEY);"
                       "CREATE TABLE c(p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)")
                  .ok());
  for (int i = 0; i < 3; ++i) {
    {
      SqliteTransaction kept(*db);
      ASSERT_TRUE(kept.status().ok()) << kept.status();
      ASSERT_TRUE(db->Exec(absl::StrCat("INSERT INTO t VALUES (", i, ")")).ok());
      ASSERT_TRUE(kept.Commit().ok());
    }
    {
      SqliteTransaction dropped(*db);
      ASSERT_TRUE(dropped.status().ok()) << dropped.status();
      ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (100)").ok());
    }
    {
      // A deferred foreign key fails the COMMIT itself; the transaction
      // then rolls back when dropped.
      SqliteTransaction refused(*db);
      ASSERT_TRUE(refused.status().ok()) << refused.status();
      ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (200); INSERT INTO c VALUES (7)").ok());
      EXPECT_FALSE(refused.Commit().ok());
    }
  }
  auto select = *db->Prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(*select.Step());
  EXPECT_EQ(select.Text(0), "0,1,2");
  EXPECT_TRUE(db->ExecCached("SELECT 1").ok());
  EXPECT_EQ(db->ExecCached("SELEC 1").code(), absl::StatusCode::kInvalidArgument);
}

// The node's connections to its database change it all the time: each
// would unmap the whole file on its next read, so none maps it.
TEST(SqliteTest, WritableConnectionsDoNotMapTheFile) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("t.db"));
  auto mapped = *db->Prepare("PRAGMA mmap_size");
  ASSERT_TRUE(*mapped.Step());
  EXPECT_EQ(mapped.Int64(0), 0);
  auto journal = *db->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(*journal.Step());
  EXPECT_EQ(journal.Text(0), "wal");
}

// The activity log syncs this file itself: it must be the one SQLite writes,
// also when the database is reached through a symbolic link.
TEST(SqliteTest, TheWalPathIsSqlitesOwnThroughASymbolicLink) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.File("real"));
  std::filesystem::create_directory_symlink(dir.File("real"), dir.File("link"));
  std::filesystem::create_symlink(dir.File("real/t.db"), dir.File("real/alias.db"));
  auto db = *SqliteDb::Open(dir.File("link/alias.db"));
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x)").ok());
  EXPECT_EQ(std::filesystem::weakly_canonical(db->WalPath()),
            std::filesystem::weakly_canonical(dir.File("real/t.db-wal")));
  EXPECT_EQ(std::filesystem::path(db->WalPath()).filename(), "t.db-wal");
  EXPECT_TRUE(std::filesystem::exists(db->WalPath()));
}

TEST(SqliteTest, SqliteKeepsNoProcessWideMemoryStatistics) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("t.db"));
  ASSERT_TRUE(
      db->Exec("CREATE TABLE t(x TEXT); INSERT INTO t VALUES (hex(randomblob(5000)))").ok());
  // Kept, the figure would be the connection's memory, well above zero.
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

TEST(SqliteTest, ConstraintViolationIsFailedPrecondition) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("t.db"));
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x INTEGER PRIMARY KEY)").ok());
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
  auto again = *db->Prepare("INSERT INTO t VALUES (1)");
  EXPECT_EQ(again.Run().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SqliteTest, BadSqlIsInvalidArgumentAndMissingFileUnavailable) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("t.db"));
  EXPECT_EQ(db->Prepare("SELEC 1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteDb::Open(dir.File("absent.db"), SqliteDb::Mode::kReadOnly).status().code(),
            absl::StatusCode::kUnavailable);
}

// A statement that would never end stops once its check says so, and the
// connection stays usable; without a check the same kind of statement ends.
TEST(SqliteTest, StopCheckInterruptsARunningStatement) {
  testing::TempDir dir;
  auto db = *SqliteDb::Open(dir.File("s.db"));
  std::atomic<bool> stop{false};
  db->SetStopCheck([&] { return stop.load(); });
  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(20));
    stop = true;
  });
  auto endless = *db->Prepare(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n");
  absl::StatusOr<bool> row = endless.Step();
  stopper.join();
  EXPECT_EQ(row.status().code(), absl::StatusCode::kCancelled) << row.status();
  EXPECT_TRUE(absl::StrContains(row.status().message(), "interrupted")) << row.status();

  db->SetStopCheck(nullptr);
  auto bounded = *db->Prepare(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
      "SELECT max(i) FROM n");
  ASSERT_TRUE(*bounded.Step());
  EXPECT_EQ(bounded.Int64(0), 100000);
}

}  // namespace
}  // namespace trenode::storage
