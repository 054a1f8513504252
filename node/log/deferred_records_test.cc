// DeferredRecords over the real log and a real store change in the same
// SQLite database: records of a piece of work share a commit, stay in
// order, are durable when Finish returns, and a crash before then loses no
// change's record (the outbox brings it back at the next open).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "node/log/activity_log.h"
#include "node/log/event_sink.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::log {
namespace {

const auth::Principal kAda{"ada", trenode::v1::ROLE_RESEARCHER, auth::Principal::Kind::kPerson};

class DeferredRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenLog();
    auto db = storage::SqliteDb::Open(path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("CREATE TABLE IF NOT EXISTS changes(thread INTEGER, n INTEGER)").ok());
  }
  std::string path() const { return dir_.File("node.db"); }
  void OpenLog() {
    log_.reset();
    auto log = ActivityLog::Open(path(), signer_, "site-a");
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  // One store change (a row in `changes`) recorded as "test.change t/n".
  absl::Status Change(storage::SqliteDb& db, int thread, int n) {
    return RecordedChange(
        log_.get(), kAda, ChangeEvent("test.change", absl::StrCat(thread, "/", n)), [&] {
          return storage::InTransaction(db, [&]() -> absl::Status {
            return db.Exec(absl::StrCat("INSERT INTO changes VALUES (", thread, ", ", n, ")"));
          });
        });
  }
  std::unique_ptr<storage::SqliteDb> Db() {
    auto db = storage::SqliteDb::Open(path());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }
  // The objects of the log's entries, in order.
  std::vector<std::string> Objects() {
    std::vector<std::string> objects;
    auto leaves = log_->Leaves(0, log_->size());
    EXPECT_TRUE(leaves.ok()) << leaves.status();
    if (!leaves.ok()) return objects;
    for (const std::string& leaf : *leaves) objects.push_back(ParseLeaf(leaf)->object);
    return objects;
  }
  int64_t Count(const std::string& sql) {
    auto db = Db();
    auto statement = db->Prepare(sql);
    EXPECT_TRUE(statement.ok());
    EXPECT_TRUE(*statement->Step());
    return statement->Int64(0);
  }

  testing::TempDir dir_;
  NoteSigner signer_ = *NoteSigner::Generate("trenode.test/site-a");
  std::unique_ptr<ActivityLog> log_;
};

TEST_F(DeferredRecordsTest, RecordsWaitForTheScopeAndShareOneCommit) {
  auto db = Db();
  DeferredRecords deferred;
  for (int n = 0; n < 10; ++n) ASSERT_TRUE(Change(*db, 0, n).ok());
  // Made, their records in the outbox: none appended until waited for.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM changes"), 10);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_outbox"), 10);
  EXPECT_EQ(log_->size(), 0u);
  // A record waited for (a decision) is appended after them, with them.
  ActivityEvent decision = ChangeEvent("test.decision", "after");
  ASSERT_TRUE(log_->Record(kAda, decision).ok());
  EXPECT_EQ(log_->size(), 11u);
  ASSERT_TRUE(deferred.Finish().ok());
  std::vector<std::string> objects = Objects();
  ASSERT_EQ(objects.size(), 11u);
  for (int n = 0; n < 10; ++n) EXPECT_EQ(objects[n], absl::StrCat("0/", n));
  EXPECT_EQ(objects[10], "after");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_outbox"), 0);
}

TEST_F(DeferredRecordsTest, ConcurrentScopesAreAllDurableInOrderAndProvable) {
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto db = Db();
      DeferredRecords deferred;
      for (int n = 0; n < kEach; ++n) ASSERT_TRUE(Change(*db, t, n).ok());
      ASSERT_TRUE(deferred.Finish().ok());
      // Durable when Finish returns: the log holds this thread's last one.
      std::vector<std::string> objects = Objects();
      EXPECT_NE(std::find(objects.begin(), objects.end(), absl::StrCat(t, "/", kEach - 1)),
                objects.end());
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(log_->size(), uint64_t{kThreads * kEach});
  std::map<int, int> next;  // per thread, the next n expected
  for (const std::string& object : Objects()) {
    int t = object[0] - '0', n = std::stoi(object.substr(2));
    EXPECT_EQ(n, next[t]++) << "thread " << t << "'s records out of order";
  }
  // Every entry is proven in the signed tree.
  auto note = log_->Checkpoint();
  ASSERT_TRUE(note.ok());
  auto verifier = NoteVerifier::FromVerifierKey(signer_.VerifierKey());
  auto text = verifier->Verify(*note);
  ASSERT_TRUE(text.ok());
  auto body = ParseCheckpointText(*text);
  ASSERT_TRUE(body.ok());
  auto leaves = log_->Leaves(0, body->size);
  for (uint64_t i = 0; i < body->size; ++i) {
    auto proof = log_->InclusionProof(i, body->size);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyInclusion(i, body->size, LeafHash((*leaves)[i]), *proof, body->root).ok());
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_outbox"), 0);
  OpenLog();
  EXPECT_EQ(log_->recovered_at_open(), 0u);
  EXPECT_EQ(log_->size(), uint64_t{kThreads * kEach});
}

// A node's own thread moving its work along answers nobody: neither its
// scope nor any scope inside it waits for a sync (here held back for as long
// as the test likes), and a record somebody does wait for still comes after
// all of theirs.
TEST_F(DeferredRecordsTest, AScopeLeftToTheLogWaitsForNoneOfItsRecordsNorForAScopeInsideIt) {
  absl::Notification let_sync;
  log_->SyncWith([&](int fd) {
    let_sync.WaitForNotification();
    return ::fdatasync(fd);
  });
  absl::Notification returned;
  absl::Status inner_finished = absl::UnknownError("not finished");
  std::thread work([&] {
    auto db = Db();
    {
      DeferredRecords left(DeferredRecords::AtEnd::kLeaveToTheLog);
      EXPECT_TRUE(Change(*db, 0, 0).ok());
      {
        DeferredRecords inner;  // as a release's submission opens one
        EXPECT_TRUE(Change(*db, 0, 1).ok());
        inner_finished = inner.Finish();
      }
      EXPECT_TRUE(Change(*db, 0, 2).ok());
      EXPECT_TRUE(left.Finish().ok());
    }
    returned.Notify();
  });
  // Were anything waited for, the writer would be held in its sync.
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(30)));
  let_sync.Notify();
  work.join();
  EXPECT_TRUE(inner_finished.ok()) << inner_finished;
  ASSERT_TRUE(log_->Record(kAda, ChangeEvent("test.decision", "after")).ok());
  EXPECT_EQ(Objects(), (std::vector<std::string>{"0/0", "0/1", "0/2", "after"}));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_outbox"), 0);
}

// With nothing after them that somebody waits for, such records are still
// appended, on their own, after the log's linger.
TEST_F(DeferredRecordsTest, RecordsNobodyWaitsForAreAppendedOnTheirOwnAfterTheLinger) {
  auto db = Db();
  {
    DeferredRecords left(DeferredRecords::AtEnd::kLeaveToTheLog);
    ASSERT_TRUE(Change(*db, 0, 0).ok());
    ASSERT_TRUE(Change(*db, 0, 1).ok());
  }
  EXPECT_EQ(log_->WaitForGrowth(1, absl::Seconds(30)), 2u);
  EXPECT_EQ(Objects(), (std::vector<std::string>{"0/0", "0/1"}));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_outbox"), 0);
}

// A reader of the log (GetEntries, a checkpoint) is never behind the node.
TEST_F(DeferredRecordsTest, FlushWritesWhatLingersAndACheckpointCoversIt) {
  auto db = Db();
  {
    DeferredRecords left(DeferredRecords::AtEnd::kLeaveToTheLog);
    ASSERT_TRUE(Change(*db, 0, 0).ok());
  }
  log_->Flush();
  EXPECT_EQ(log_->size(), 1u);
  {
    DeferredRecords left(DeferredRecords::AtEnd::kLeaveToTheLog);
    ASSERT_TRUE(Change(*db, 0, 1).ok());
  }
  auto note = log_->Checkpoint();
  ASSERT_TRUE(note.ok()) << note.status();
  auto verifier = *NoteVerifier::FromVerifierKey(signer_.VerifierKey());
  EXPECT_EQ(ParseCheckpointText(*verifier.Verify(*note))->size, 2u);
}

TEST_F(DeferredRecordsTest, ARecordThatCannotBeWrittenFailsAloneAndIsKept) {
  auto db = Db();
  ASSERT_TRUE(db->Exec("CREATE TRIGGER injected_fault BEFORE INSERT ON log_entries WHEN "
                       "instr(CAST(NEW.leaf AS TEXT), 'object 0/1' || char(10)) > 0 BEGIN "
                       "SELECT RAISE(ABORT, 'injected fault'); END")
                  .ok());
  {
    DeferredRecords deferred;
    for (int n = 0; n < 3; ++n) ASSERT_TRUE(Change(*db, 0, n).ok());
    absl::Status finished = deferred.Finish();
    EXPECT_EQ(finished.code(), absl::StatusCode::kInternal) << finished;
    EXPECT_NE(finished.message().find("appended when the node next starts"), std::string::npos);
  }
  // The others of its commit are written, in order; it waits in the outbox.
  EXPECT_EQ(Objects(), (std::vector<std::string>{"0/0", "0/2"}));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_outbox"), 1);
  ASSERT_TRUE(db->Exec("DROP TRIGGER injected_fault").ok());
  OpenLog();
  EXPECT_EQ(log_->recovered_at_open(), 1u);
  EXPECT_EQ(Objects(), (std::vector<std::string>{"0/0", "0/2", "0/1"}));
}

TEST_F(DeferredRecordsTest, AKillDuringABatchLosesNoChangesRecord) {
  log_.reset();  // the child has the database alone
  pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    OpenLog();
    auto db = Db();
    {
      DeferredRecords first;
      for (int n = 0; n < 15; ++n) (void)Change(*db, 0, n);
      if (!first.Finish().ok()) ::_exit(2);
    }
    DeferredRecords second;
    for (int n = 15; n < 30; ++n) (void)Change(*db, 0, n);
    // Killed before anyone waited for the last fifteen records.
    ::raise(SIGKILL);
    ::_exit(3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  OpenLog();
  // Every change made has its record, in the order they were made.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM changes"), 30);
  EXPECT_EQ(log_->recovered_at_open(), 15u);
  std::vector<std::string> objects = Objects();
  ASSERT_EQ(objects.size(), 30u);
  for (int n = 0; n < 30; ++n) EXPECT_EQ(objects[n], absl::StrCat("0/", n));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM log_outbox"), 0);
}

}  // namespace
}  // namespace trenode::log
