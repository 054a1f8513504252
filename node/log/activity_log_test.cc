#include "node/log/activity_log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "node/storage/migrations.h"
#include "node/storage/node_schema.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::log {
namespace {

ActivityEvent Event(const std::string& actor, int n) {
  ActivityEvent event;
  event.node = "site-a";
  event.actor = actor;
  event.role = "researcher";
  event.action = "catalogue.dataset.get";
  event.object = "dataset/d-" + std::to_string(n);
  event.outcome = "allow";
  return event;
}

TEST(ActivityEventTest, CanonicalLeavesRoundTripAndAreUnique) {
  ActivityEvent event = Event("ada@site-a", 1);
  event.time = absl::FromUnixMicros(1'800'000'000'123'456);
  event.reason = "line one\nline two \\ backslash";
  event.hashes = {"sha256:00ff", "sha256:ab"};
  std::string leaf = CanonicalLeaf(event);
  EXPECT_EQ(leaf,
            "trenode-activity-event/1\n"
            "time 2027-01-15T08:00:00.123456Z\n"
            "node site-a\nactor ada@site-a\nrole researcher\nvia \n"
            "action catalogue.dataset.get\nobject dataset/d-1\noutcome allow\n"
            "reason line one\\nline two \\\\ backslash\nrequest \nproject \n"
            "hash sha256:00ff\nhash sha256:ab\n");
  auto parsed = ParseLeaf(leaf);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, event);
  EXPECT_FALSE(ParseLeaf(leaf.substr(0, leaf.size() - 1)).ok());
  std::string reordered = leaf;
  reordered.replace(reordered.find("node site-a\nactor ada@site-a"), 29,
                    "actor ada@site-a\nnode site-a");
  EXPECT_FALSE(ParseLeaf(reordered).ok());
}

class ActivityLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<ActivityLog> OpenLog() {
    auto log = ActivityLog::Open(dir_.File("node.db"), signer_);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Holds `log`'s writer in its next sync (syncing_ then notified) until
  // let_sync_ is notified.
  void HoldSyncs(ActivityLog& log) {
    log.SyncWith([this](int fd) {
      if (!syncing_.HasBeenNotified()) syncing_.Notify();
      let_sync_.WaitForNotification();
      return ::fdatasync(fd);
    });
  }
  testing::TempDir dir_;
  NoteSigner signer_ = *NoteSigner::Generate("trenode.test/site-a");
  absl::Notification syncing_, let_sync_;
};

TEST_F(ActivityLogTest, ConcurrentAppendsGetDistinctDurableIndices) {
  auto log = OpenLog();
  constexpr int kThreads = 16, kEach = 200;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> indices(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto index = log->Append(Event("user" + std::to_string(t), i));
        ASSERT_TRUE(index.ok()) << index.status();
        indices[t].push_back(*index);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<uint64_t> all;
  for (const auto& some : indices) all.insert(some.begin(), some.end());
  EXPECT_EQ(all.size(), size_t{kThreads * kEach});
  EXPECT_EQ(*all.rbegin(), uint64_t{kThreads * kEach - 1});
  EXPECT_EQ(log->size(), uint64_t{kThreads * kEach});

  // The root is what anyone gets by hashing the returned leaves.
  auto leaves = log->Leaves(0, log->size());
  ASSERT_TRUE(leaves.ok());
  CompactRange recomputed;
  for (const std::string& leaf : *leaves) {
    ASSERT_TRUE(ParseLeaf(leaf).ok());
    recomputed.Append(LeafHash(leaf));
  }
  EXPECT_EQ(recomputed.Root(), log->root());
}

// The writer syncs after its commit, so the database's write lock is free
// while the disk catches up: a store's change does not wait for the log's
// sync, while the appender still does.
TEST_F(ActivityLogTest, AChangeCommitsWhileTheLogSyncsAndTheAppenderWaitsForTheSync) {
  auto log = OpenLog();
  HoldSyncs(*log);
  std::atomic<bool> appended{false};
  absl::StatusOr<uint64_t> index;
  std::thread appender([&] {
    index = log->Append(Event("ada@site-a", 1));
    appended = true;
  });
  ASSERT_TRUE(syncing_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  auto other = *storage::SqliteDb::Open(dir_.File("node.db"));
  // Waits up to SQLite's busy timeout, then fails, if the lock were held.
  EXPECT_TRUE(other->Exec("BEGIN IMMEDIATE; CREATE TABLE scratch(x); COMMIT").ok());
  auto committed = *other->Prepare("SELECT count(*) FROM log_entries");
  ASSERT_TRUE(*committed.Step());
  EXPECT_EQ(committed.Int64(0), 1);  // committed, not yet known durable
  EXPECT_FALSE(appended);
  let_sync_.Notify();
  appender.join();
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(*index, 0u);
}

// A reader's Flush also waits for the batch the writer has taken but not yet
// made durable.
TEST_F(ActivityLogTest, FlushWaitsForTheBatchBeingWritten) {
  auto log = OpenLog();
  HoldSyncs(*log);
  std::thread appender([&] { EXPECT_TRUE(log->Append(Event("ada@site-a", 1)).ok()); });
  ASSERT_TRUE(syncing_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  std::atomic<bool> flushed{false};
  std::thread reader([&] {
    log->Flush();
    flushed = true;
  });
  absl::SleepFor(absl::Milliseconds(200));  // time enough to return, were it wrong
  EXPECT_FALSE(flushed);
  let_sync_.Notify();
  reader.join();
  appender.join();
  EXPECT_TRUE(flushed);
  EXPECT_EQ(log->size(), 1u);
}

// After a failed sync no later sync says the earlier writes reached the
// disk: the log appends nothing more, so nothing that waits for its record
// goes ahead, until the node restarts and reads what is there.
TEST_F(ActivityLogTest, AFailedSyncFailsThatAppendAndEveryLaterOne) {
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(Event("ada@site-a", 0)).ok());
    std::atomic<int> syncs{0};
    log->SyncWith([&](int fd) {
      if (syncs++ == 0) {
        errno = EIO;
        return -1;
      }
      return ::fdatasync(fd);
    });
    auto failed = log->Append(Event("ada@site-a", 1));
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(failed.status().message().find("could not make its writes durable"),
              std::string::npos)
        << failed.status();
    EXPECT_FALSE(log->writing());
    // The tree, and what a checkpoint signs, holds only what reached the disk.
    EXPECT_EQ(log->size(), 1u);
    auto verifier = *NoteVerifier::FromVerifierKey(signer_.VerifierKey());
    auto note = log->Checkpoint();
    ASSERT_TRUE(note.ok()) << note.status();
    EXPECT_EQ(ParseCheckpointText(*verifier.Verify(*note))->size, 1u);
    auto later = log->Append(Event("ada@site-a", 2));
    EXPECT_EQ(later.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(syncs, 1);  // not written at all
  }
  // What was committed is read back whole at the restart.
  auto log = OpenLog();
  EXPECT_EQ(log->size(), 2u);
  auto leaves = *log->Leaves(0, 2);
  EXPECT_EQ(ParseLeaf(leaves[1])->object, "dataset/d-1");
  EXPECT_TRUE(log->Append(Event("ada@site-a", 3)).ok());
}

TEST_F(ActivityLogTest, ProofsAndCheckpointsVerify) {
  auto log = OpenLog();
  for (int i = 0; i < 37; ++i) ASSERT_TRUE(log->Append(Event("ada@site-a", i)).ok());
  auto first = log->Checkpoint();
  ASSERT_TRUE(first.ok()) << first.status();
  auto verifier = *NoteVerifier::FromVerifierKey(signer_.VerifierKey());
  auto body = *ParseCheckpointText(*verifier.Verify(*first));
  EXPECT_EQ(body.origin, "trenode.test/site-a");
  EXPECT_EQ(body.size, 37u);
  EXPECT_EQ(body.root, log->root());
  EXPECT_EQ(*log->Checkpoint(), *first);  // nothing new: the same checkpoint

  for (int i = 0; i < 60; ++i) ASSERT_TRUE(log->Append(Event("bob@site-b", i)).ok());
  auto second = *ParseCheckpointText(*verifier.Verify(*log->Checkpoint()));
  EXPECT_EQ(second.size, 97u);
  auto consistency = log->ConsistencyProof(37, 97);
  ASSERT_TRUE(consistency.ok());
  EXPECT_TRUE(VerifyConsistency(37, 97, *consistency, body.root, second.root).ok());
  auto leaves = *log->Leaves(0, 97);
  for (uint64_t i : {0, 1, 36, 37, 64, 96}) {
    auto proof = log->InclusionProof(i, 97);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyInclusion(i, 97, LeafHash(leaves[i]), *proof, second.root).ok()) << i;
  }
  EXPECT_EQ(log->InclusionProof(0, 98).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log->Leaves(90, 98).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(ActivityLogTest, RestartKeepsTheTreeWithoutRehashing) {
  Hash root;
  {
    auto log = OpenLog();
    for (int i = 0; i < 45; ++i) ASSERT_TRUE(log->Append(Event("ada@site-a", i)).ok());
    ASSERT_TRUE(log->Checkpoint().ok());
    root = log->root();
  }
  auto log = OpenLog();
  EXPECT_EQ(log->size(), 45u);
  EXPECT_EQ(log->root(), root);
  ASSERT_TRUE(log->Append(Event("ada@site-a", 45)).ok());
  EXPECT_EQ(log->size(), 46u);
}

TEST_F(ActivityLogTest, RollbackOrAlterationBelowACheckpointIsRefusedAtOpen) {
  {
    auto log = OpenLog();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->Append(Event("ada@site-a", i)).ok());
    ASSERT_TRUE(log->Checkpoint().ok());
  }
  {
    auto db = *storage::SqliteDb::Open(dir_.File("node.db"));
    // The level-4 subtree over leaves 0..15 is kept with entry 15, after levels 1..3.
    ASSERT_TRUE(db->Exec("UPDATE log_entries SET subtrees = "
                         "CAST(substr(subtrees, 1, 96) || zeroblob(32) AS BLOB) WHERE idx = 15")
                    .ok());
  }
  auto altered = ActivityLog::Open(dir_.File("node.db"), signer_);
  EXPECT_EQ(altered.status().code(), absl::StatusCode::kDataLoss);
  {
    auto db = *storage::SqliteDb::Open(dir_.File("node.db"));
    ASSERT_TRUE(db->Exec("DELETE FROM log_entries WHERE idx >= 16").ok());
  }
  auto rolled_back = ActivityLog::Open(dir_.File("node.db"), signer_);
  EXPECT_EQ(rolled_back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(rolled_back.status().message().find("rolled back"), absl::string_view::npos)
      << rolled_back.status();
  auto stranger = *NoteSigner::Generate("trenode.test/site-a");
  EXPECT_EQ(ActivityLog::Open(dir_.File("node.db"), stranger).status().code(),
            absl::StatusCode::kDataLoss);
}

// The whole database restored from an older copy carries its own older
// checkpoints, so it agrees with itself; the checkpoint kept outside the
// database does not, and the node refuses to start on it rather than sign a
// checkpoint inconsistent with one it signed before.
TEST_F(ActivityLogTest, ADatabaseRestoredFromAnOlderCopyIsRefusedAtOpen) {
  {
    auto log = OpenLog();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(Event("ada@site-a", i)).ok());
    ASSERT_TRUE(log->Checkpoint().ok());
  }
  std::filesystem::copy_file(dir_.File("node.db"), dir_.File("old.db"));
  {
    auto log = OpenLog();
    for (int i = 10; i < 25; ++i) ASSERT_TRUE(log->Append(Event("ada@site-a", i)).ok());
    ASSERT_TRUE(log->Checkpoint().ok());
  }
  std::filesystem::copy_file(dir_.File("old.db"), dir_.File("node.db"),
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(dir_.File("node.db-wal"));
  auto restored = ActivityLog::Open(dir_.File("node.db"), signer_);
  ASSERT_EQ(restored.status().code(), absl::StatusCode::kDataLoss) << restored.status();
  EXPECT_NE(restored.status().message().find("rolled back"), absl::string_view::npos)
      << restored.status();
  EXPECT_NE(restored.status().message().find("node.db.checkpoint"), absl::string_view::npos)
      << restored.status();
}

// Logs written before schema version 7 kept subtree hashes in a table of
// their own; the migration moves them into the entries and the tree, its
// proofs and its signed checkpoint carry on unchanged.
TEST_F(ActivityLogTest, ALogFromBeforeInlineSubtreesKeepsItsTreeAfterTheMigration) {
  constexpr int kEntries = 37;
  std::vector<Hash> leaf_hashes;
  CompactRange range;
  {
    auto db = *storage::SqliteDb::Open(dir_.File("node.db"));
    auto migrations = storage::NodeSchemaMigrations();
    ASSERT_EQ(migrations[6].version, 7);
    ASSERT_TRUE(storage::ApplyMigrations(*db, migrations.first(6)).ok());
    auto entry = *db->Prepare("INSERT INTO log_entries(idx, leaf, leaf_hash) VALUES (?, ?, ?)");
    auto node = *db->Prepare("INSERT INTO log_nodes(level, idx, hash) VALUES (?, ?, ?)");
    for (int i = 0; i < kEntries; ++i) {
      ActivityEvent event = Event("ada@site-a", i);
      event.time = absl::FromUnixSeconds(1'800'000'000 + i);
      std::string leaf = CanonicalLeaf(event);
      leaf_hashes.push_back(LeafHash(leaf));
      entry.Reset();
      ASSERT_TRUE(entry.Bind(1, int64_t{i})
                      .BindBlob(2, leaf)
                      .BindBlob(3, HashBytes(leaf_hashes.back()))
                      .Run()
                      .ok());
      std::vector<CompactRange::Subtree> completed;
      range.Append(leaf_hashes.back(), &completed);
      for (const auto& subtree : completed) {
        if (subtree.level == 0) continue;
        node.Reset();
        ASSERT_TRUE(node.Bind(1, int64_t{subtree.level})
                        .Bind(2, static_cast<int64_t>(subtree.index))
                        .BindBlob(3, HashBytes(subtree.hash))
                        .Run()
                        .ok());
      }
    }
    auto note = *signer_.Sign(CheckpointText(signer_.name(), kEntries, range.Root()));
    auto checkpoint = *db->Prepare("INSERT INTO log_checkpoints(size, note) VALUES (?, ?)");
    ASSERT_TRUE(checkpoint.Bind(1, int64_t{kEntries}).Bind(2, note).Run().ok());
  }

  auto log = OpenLog();  // migrates, then checks the tree against the checkpoint
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->root(), range.Root());
  for (uint64_t i = 0; i < kEntries; ++i) {
    auto proof = log->InclusionProof(i, kEntries);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(VerifyInclusion(i, kEntries, leaf_hashes[i], *proof, range.Root()).ok()) << i;
  }
  ASSERT_TRUE(log->Append(Event("ada@site-a", kEntries)).ok());
  auto consistency = log->ConsistencyProof(kEntries, kEntries + 1);
  ASSERT_TRUE(consistency.ok()) << consistency.status();
  EXPECT_TRUE(
      VerifyConsistency(kEntries, kEntries + 1, *consistency, range.Root(), log->root()).ok());
  auto db = *storage::SqliteDb::Open(dir_.File("node.db"));
  EXPECT_FALSE(db->Prepare("SELECT * FROM log_nodes").ok());
}

// Records left in the outbox by a node that stopped before migration 25 are
// appended, in the order of their ids, by the node after it; new rows then
// take the next id without a sqlite_sequence row to keep.
TEST_F(ActivityLogTest, OutboxRowsLeftBeforeTheRowidMigrationAreAppendedInOrder) {
  {
    auto db = *storage::SqliteDb::Open(dir_.File("node.db"));
    ASSERT_TRUE(storage::ApplyMigrations(*db, storage::NodeSchemaMigrations().first(24)).ok());
    auto insert = *db->Prepare("INSERT INTO log_outbox(id, record) VALUES (?, ?)");
    for (int id : {12, 5, 40}) {  // committed in the order 5, 12, 40
      insert.Reset();
      ASSERT_TRUE(insert.Bind(1, int64_t{id})
                      .BindBlob(2, CanonicalLeaf(Event("ada@site-a", id)))
                      .Run()
                      .ok());
    }
  }
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->recovered_at_open(), 3u);
  auto leaves = *log->Leaves(0, 3);
  std::vector<std::string> objects;
  for (const std::string& leaf : leaves) objects.push_back(ParseLeaf(leaf)->object);
  EXPECT_EQ(objects, (std::vector<std::string>{"dataset/d-5", "dataset/d-12", "dataset/d-40"}));
  auto db = *storage::SqliteDb::Open(dir_.File("node.db"));
  auto sequence = *db->Prepare("SELECT count(*) FROM sqlite_sequence WHERE name = 'log_outbox'");
  ASSERT_TRUE(*sequence.Step());
  EXPECT_EQ(sequence.Int64(0), 0);
  auto outbox = *db->Prepare("SELECT sql FROM sqlite_schema WHERE name = 'log_outbox'");
  ASSERT_TRUE(*outbox.Step());
  EXPECT_EQ(outbox.Text(0).find("AUTOINCREMENT"), std::string::npos) << outbox.Text(0);
}

}  // namespace
}  // namespace trenode::log
