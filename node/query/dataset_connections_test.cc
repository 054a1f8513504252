// DatasetConnections over real SQLite files: a connection kept open serves
// the next query of its file and no other, one lent is no one else's, idle
// ones are bounded, a query's stop check ends with it, and the file's layout
// is learned per file.
#include "node/query/dataset_connections.h"

#include "gtest/gtest.h"
#include "node/query/runner.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::query {
namespace {

using Lease = DatasetConnections::Lease;

class DatasetConnectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dataset_.set_id("tiny");
    dataset_.set_person_table("person");
    auto* person = dataset_.add_tables();
    person->set_name("person");
    auto* key = person->add_columns();
    key->set_name("person_id");
    key->set_is_person_key(true);
    auto* events = dataset_.add_tables();
    events->set_name("measurement");
    auto* event_key = events->add_columns();
    event_key->set_name("person_id");
    event_key->set_is_person_key(true);
    Make(with_rowids_, /*person_rowids=*/true);
    Make(without_rowids_, /*person_rowids=*/false);
  }

  // A file whose events name persons by rowid, or (as files imported before
  // that) by key alone.
  static void Make(const std::string& path, bool person_rowids) {
    auto db = storage::SqliteDb::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)
                    ->Exec(absl::StrCat("CREATE TABLE person(person_id TEXT);"
                                        "CREATE TABLE measurement(person_id TEXT",
                                        person_rowids ? ", _person INTEGER" : "",
                                        ");"
                                        "INSERT INTO person VALUES ('p1'), ('p2');"))
                    .ok());
  }

  // Marks the lease's connection, so that its next lease can be told apart
  // from a new connection at the same address.
  static void Mark(const Lease& lease) {
    ASSERT_TRUE(lease.db().Exec("CREATE TEMP TABLE marked(x)").ok());
  }
  static bool Marked(const Lease& lease) {
    auto found = lease.db().Prepare("SELECT 1 FROM temp.sqlite_master WHERE name = 'marked'");
    EXPECT_TRUE(found.ok()) << found.status();
    auto row = found->Step();
    EXPECT_TRUE(row.ok()) << row.status();
    return *row;
  }

  testing::TempDir dir_;
  const std::string with_rowids_ = dir_.File("with.sqlite");
  const std::string without_rowids_ = dir_.File("without.sqlite");
  trenode::v1::Dataset dataset_;
};

TEST_F(DatasetConnectionsTest, AConnectionKeptOpenServesTheNextQueryOfItsFileAlone) {
  DatasetConnections connections({});
  {
    absl::StatusOr<Lease> first = connections.Borrow(with_rowids_, dataset_);
    ASSERT_TRUE(first.ok()) << first.status();
    Mark(*first);
    first->KeepOpen();
  }
  EXPECT_EQ(connections.idle(), 1u);
  {
    // Another file's query opens its own.
    absl::StatusOr<Lease> other = connections.Borrow(without_rowids_, dataset_);
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_FALSE(Marked(*other));
  }
  absl::StatusOr<Lease> again = connections.Borrow(with_rowids_, dataset_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(Marked(*again));
  EXPECT_EQ(connections.idle(), 0u);
}

TEST_F(DatasetConnectionsTest, AConnectionNotKeptOpenIsClosed) {
  DatasetConnections connections({});
  {
    absl::StatusOr<Lease> failed = connections.Borrow(with_rowids_, dataset_);
    ASSERT_TRUE(failed.ok()) << failed.status();
    Mark(*failed);  // its query ended in an error: no KeepOpen
  }
  EXPECT_EQ(connections.idle(), 0u);
  absl::StatusOr<Lease> next = connections.Borrow(with_rowids_, dataset_);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(Marked(*next));
}

TEST_F(DatasetConnectionsTest, TwoQueriesOfOneFileAtOnceHaveTheirOwnConnections) {
  DatasetConnections connections({});
  absl::StatusOr<Lease> first = connections.Borrow(with_rowids_, dataset_);
  ASSERT_TRUE(first.ok()) << first.status();
  Mark(*first);
  first->KeepOpen();
  absl::StatusOr<Lease> second = connections.Borrow(with_rowids_, dataset_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(Marked(*second));
  EXPECT_NE(&first->db(), &second->db());
}

TEST_F(DatasetConnectionsTest, IdleConnectionsAreBoundedOverAllFilesKeepingTheLatest) {
  DatasetConnections connections({.max_idle = 1});
  {
    absl::StatusOr<Lease> a = connections.Borrow(with_rowids_, dataset_);
    absl::StatusOr<Lease> b = connections.Borrow(without_rowids_, dataset_);
    ASSERT_TRUE(a.ok() && b.ok());
    Mark(*a);
    Mark(*b);
    a->KeepOpen();
    b->KeepOpen();
    std::optional<Lease> given_back_first(*std::move(a));
    given_back_first.reset();
  }  // b is given back last
  EXPECT_EQ(connections.idle(), 1u);
  absl::StatusOr<Lease> b = connections.Borrow(without_rowids_, dataset_);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(Marked(*b));
  absl::StatusOr<Lease> a = connections.Borrow(with_rowids_, dataset_);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(Marked(*a)) << "closed when b was given back";
}

TEST_F(DatasetConnectionsTest, AQuerysStopCheckEndsWithItsLease) {
  DatasetConnections connections({});
  {
    absl::StatusOr<Lease> stopped = connections.Borrow(with_rowids_, dataset_);
    ASSERT_TRUE(stopped.ok());
    Mark(*stopped);
    stopped->db().SetStopCheck([] { return true; });
    EXPECT_FALSE(stopped->db()
                     .Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 100000) SELECT count(*) FROM n")
                     .ok());
    stopped->KeepOpen();
  }
  absl::StatusOr<Lease> next = connections.Borrow(with_rowids_, dataset_);
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(Marked(*next));
  EXPECT_TRUE(next->db()
                  .Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                        "WHERE i < 100000) SELECT count(*) FROM n")
                  .ok());
}

TEST_F(DatasetConnectionsTest, EachFilesLayoutIsItsOwn) {
  DatasetConnections connections({});
  for (int round = 0; round < 2; ++round) {  // learned, then remembered
    absl::StatusOr<Lease> with = connections.Borrow(with_rowids_, dataset_);
    absl::StatusOr<Lease> without = connections.Borrow(without_rowids_, dataset_);
    ASSERT_TRUE(with.ok() && without.ok());
    EXPECT_TRUE(with->person_rowids());
    EXPECT_FALSE(without->person_rowids());
    EXPECT_EQ(with->person_rowids(), *FileHasPersonRowids(with->db(), dataset_));
    EXPECT_EQ(without->person_rowids(), *FileHasPersonRowids(without->db(), dataset_));
    with->KeepOpen();
    without->KeepOpen();
  }
}

TEST_F(DatasetConnectionsTest, AFileThatCannotBeOpenedIsUnavailable) {
  DatasetConnections connections({});
  absl::StatusOr<Lease> missing = connections.Borrow(dir_.File("missing.sqlite"), dataset_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable) << missing.status();
  EXPECT_EQ(connections.idle(), 0u);
}

}  // namespace
}  // namespace trenode::query
