#include "node/log/activity_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "node/auth/roles.h"
#include "node/common/files.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"
#include "node/storage/node_schema.h"

namespace trenode::log {
namespace {
using storage::SqliteDb;
using storage::SqliteStatement;

constexpr size_t kMaxBatch = 8192;
// Reasons and objects from outside the node are cut to these in the log.
constexpr size_t kMaxReasonBytes = 2000;
constexpr size_t kMaxObjectBytes = 500;
constexpr int kReaders = 4;
constexpr size_t kHashSize = std::tuple_size_v<Hash>;

// The hash of the perfect subtree at `level` covering leaves
// [index * 2^level, (index + 1) * 2^level). Level 0 is the leaf hash as it was
// at append time (a leaf altered later no longer matches its own hash, and
// its neighbours' proofs still hold); higher levels are kept in the row of the
// leaf that completed them.
absl::StatusOr<Hash> StoredNode(SqliteDb& db, int level, uint64_t index) {
  uint64_t completing_leaf = ((index + 1) << level) - 1;
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db.PrepareCached("SELECT leaf_hash, subtrees FROM log_entries WHERE idx = ?"));
  select.Bind(1, static_cast<int64_t>(completing_leaf));
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found)
    return absl::DataLossError(absl::StrCat("the log is missing entry ", completing_leaf));
  std::string bytes = select.Blob(level == 0 ? 0 : 1);
  size_t offset = level == 0 ? 0 : (level - 1) * kHashSize;
  std::optional<Hash> hash;
  if (bytes.size() >= offset + kHashSize) {
    hash = HashFromBytes(absl::string_view(bytes).substr(offset, kHashSize));
  }
  if (!hash) {
    return absl::DataLossError(absl::StrCat("the log is missing its subtree hash at level ", level,
                                            " index ", index, " (kept with entry ", completing_leaf,
                                            ")"));
  }
  return *hash;
}

absl::StatusOr<uint64_t> StoredSize(SqliteDb& db) {
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db.Prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries"));
  ASSIGN_OR_RETURN(bool row, select.Step());
  (void)row;
  return static_cast<uint64_t>(select.Int64(0));
}

// The right edge of a stored tree of `size` leaves: one perfect subtree per
// set bit, largest first.
absl::StatusOr<CompactRange> StoredRange(SqliteDb& db, uint64_t size) {
  std::vector<Hash> peaks;
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    if ((size >> level & 1) == 0) continue;
    ASSIGN_OR_RETURN(Hash peak, StoredNode(db, level, start >> level));
    peaks.push_back(peak);
    start += uint64_t{1} << level;
  }
  return CompactRange::FromPeaks(size, std::move(peaks));
}

}  // namespace

struct ActivityLog::Pending {
  std::string leaf;
  int64_t outbox_id = 0;  // the outbox row to delete with the append, if any
  Hash leaf_hash;  // computed by the appender, off the writer's thread
  absl::Notification done;
  absl::StatusOr<uint64_t> result;
  // Someone waits for it (guarded by the log's mu_); the writer takes it
  // off the queue (taken) only in a batch that holds a wanted record, or
  // once it has lingered (kLinger).
  bool wanted = false;
  bool taken = false;
};

std::string CheckpointText(const std::string& origin, uint64_t size, const Hash& root) {
  return absl::StrCat(origin, "\n", size, "\n", ToBase64(root), "\n");
}

absl::StatusOr<CheckpointBody> ParseCheckpointText(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  CheckpointBody body;
  if (lines.size() < 4 || lines.back() != "" || lines[0].empty() ||
      !absl::SimpleAtoi(lines[1], &body.size)) {
    return absl::InvalidArgumentError("a checkpoint is origin, size and root lines");
  }
  body.origin = std::string(lines[0]);
  ASSIGN_OR_RETURN(body.root, HashFromBase64(lines[2]));
  return body;
}

absl::StatusOr<std::unique_ptr<ActivityLog>> ActivityLog::Open(const std::string& path,
                                                               NoteSigner signer,
                                                               std::string node_id, Clock clock,
                                                               std::string checkpoint_copy) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SqlitePool> readers,
                   storage::SqlitePool::Open(path, kReaders, storage::NodeSchemaMigrations()));
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> writer, SqliteDb::Open(path));
  ASSIGN_OR_RETURN(uint64_t size, StoredSize(*writer));
  // Every commit of the log reaches the disk before its appenders return:
  // the writer syncs the write-ahead log itself, after the commit.
  // SQLite's own sync (synchronous=FULL) would hold the database's write
  // lock through it, so that every change of every store waited for the
  // disk whenever the log was writing. The file exists once a connection
  // has read the database in WAL mode (StoredSize), and keeps its inode
  // while connections are open (a checkpoint rewinds it, never replaces it).
  const std::string wal_path = writer->WalPath();
  int wal_fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (wal_fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open the activity log's write-ahead log ",
                                               wal_path, ": ", std::strerror(errno)));
  }
  absl::Cleanup close_wal = [&] {
    if (wal_fd >= 0) ::close(wal_fd);
  };
  ASSIGN_OR_RETURN(CompactRange range, StoredRange(*writer, size));

  if (checkpoint_copy.empty()) checkpoint_copy = path + ".checkpoint";
  ASSIGN_OR_RETURN(NoteVerifier verifier, NoteVerifier::FromVerifierKey(signer.VerifierKey()));
  // The stored tree must hold what a signed checkpoint (`where` it was kept)
  // covers; returns the checkpoint's size.
  auto check = [&](const std::string& note, absl::string_view where) -> absl::StatusOr<uint64_t> {
    absl::StatusOr<std::string> text = verifier.Verify(note);
    if (!text.ok()) {
      return absl::DataLossError(absl::StrCat("the last checkpoint ", where,
                                              " is not signed by this node's key: ",
                                              text.status().message()));
    }
    ASSIGN_OR_RETURN(CheckpointBody body, ParseCheckpointText(*text));
    if (body.size > size) {
      return absl::DataLossError(absl::StrCat(
          "the log holds ", size, " entries but the last checkpoint ", where, " covers ",
          body.size, ": it was rolled back (a database restored from an older copy?)"));
    }
    ASSIGN_OR_RETURN(Hash root, RangeHash(0, body.size, [&](int level, uint64_t index) {
                       return StoredNode(*writer, level, index);
                     }));
    if (root != body.root) {
      return absl::DataLossError(absl::StrCat("the stored tree's root at size ", body.size,
                                              " differs from the checkpoint ", where));
    }
    return body.size;
  };
  uint64_t checkpoint_size = 0;
  ASSIGN_OR_RETURN(
      SqliteStatement last,
      writer->Prepare("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1"));
  ASSIGN_OR_RETURN(bool has_checkpoint, last.Step());
  if (has_checkpoint) {
    ASSIGN_OR_RETURN(checkpoint_size, check(last.Text(1), "in the database"));
  }
  if (std::optional<std::string> copy = ReadWholeFile(checkpoint_copy)) {
    ASSIGN_OR_RETURN(uint64_t copied, check(*copy, absl::StrCat("kept in ", checkpoint_copy)));
    checkpoint_size = std::max(checkpoint_size, copied);
  }
  auto log = std::unique_ptr<ActivityLog>(
      new ActivityLog(std::move(writer), std::exchange(wal_fd, -1), std::move(readers),
                      std::move(signer), std::move(node_id), std::move(clock), std::move(range),
                      checkpoint_size, std::move(checkpoint_copy)));
  RETURN_IF_ERROR(log->AppendLeftInOutbox());
  return log;
}

absl::Status ActivityLog::AppendLeftInOutbox() {
  std::vector<std::pair<int64_t, std::string>> left;
  {
    auto db = readers_->Acquire();
    ASSIGN_OR_RETURN(SqliteStatement select,
                     db->Prepare("SELECT id, record FROM log_outbox ORDER BY id"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      left.emplace_back(select.Int64(0), select.Blob(1));
    }
  }
  for (auto& [id, record] : left) {
    absl::Status appended = AppendFromOutbox(id, record);
    if (!appended.ok()) {
      return absl::Status(appended.code(),
                          absl::StrCat("appending the record of a change made before the node "
                                       "stopped (outbox row ",
                                       id, "): ", appended.message()));
    }
    ++recovered_at_open_;
  }
  return absl::OkStatus();
}

ActivityLog::ActivityLog(std::unique_ptr<SqliteDb> writer, int wal_fd,
                         std::unique_ptr<storage::SqlitePool> readers, NoteSigner signer,
                         std::string node_id, Clock clock, CompactRange range,
                         uint64_t checkpoint_size, std::string checkpoint_copy)
    : writer_db_(std::move(writer)),
      wal_fd_(wal_fd),
      readers_(std::move(readers)),
      signer_(std::move(signer)),
      node_id_(std::move(node_id)),
      clock_(std::move(clock)),
      committed_(std::move(range)),
      checkpoint_size_(checkpoint_size),
      checkpoint_copy_(std::move(checkpoint_copy)) {
  writer_ = std::thread([this] { WriteLoop(); });
}

ActivityLog::~ActivityLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
  ::close(wal_fd_);
}

absl::StatusOr<uint64_t> ActivityLog::Append(ActivityEvent event) {
  return Enqueue(std::move(event), 0);
}

absl::StatusOr<std::shared_ptr<ActivityLog::Pending>> ActivityLog::Queue(ActivityEvent event,
                                                                         int64_t outbox_id,
                                                                         bool wanted) {
  event.time = clock_();
  auto pending = std::make_shared<Pending>();
  pending->outbox_id = outbox_id;
  pending->leaf = CanonicalLeaf(event);
  pending->leaf_hash = LeafHash(pending->leaf);
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("the activity log is shutting down");
  // The writer holds it until it has said how the write went.
  pending->wanted = wanted;
  wanted_ += wanted;
  queue_.push_back(pending);
  return pending;
}

void ActivityLog::Want(Pending& pending) {
  absl::MutexLock lock(&mu_);
  if (pending.wanted) return;
  pending.wanted = true;
  if (!pending.taken) ++wanted_;
}

absl::StatusOr<uint64_t> ActivityLog::Enqueue(ActivityEvent event, int64_t outbox_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Pending> pending,
                   Queue(std::move(event), outbox_id, /*wanted=*/true));
  pending->done.WaitForNotification();
  return pending->result;
}

absl::Status ActivityLog::Record(const auth::Principal& actor, ActivityEvent event) {
  return Append(Attributed(actor, std::move(event))).status();
}

std::string ActivityLog::OutboxRecord(const auth::Principal& actor, ActivityEvent event) {
  event = Attributed(actor, std::move(event));
  event.time = absl::UnixEpoch();
  return CanonicalLeaf(event);
}

absl::Status ActivityLog::AppendFromOutbox(int64_t outbox_id, const std::string& record) {
  absl::StatusOr<ActivityEvent> event = ParseLeaf(record);
  if (!event.ok()) {
    return absl::DataLossError(
        absl::StrCat("an outbox record is not a canonical leaf: ", event.status().message()));
  }
  return Enqueue(*std::move(event), outbox_id).status();
}

EventSink::Durable ActivityLog::AppendFromOutboxQueued(int64_t outbox_id,
                                                       const std::string& record) {
  absl::StatusOr<ActivityEvent> event = ParseLeaf(record);
  if (!event.ok()) {
    absl::Status bad = absl::DataLossError(
        absl::StrCat("an outbox record is not a canonical leaf: ", event.status().message()));
    return [bad] { return bad; };
  }
  absl::StatusOr<std::shared_ptr<Pending>> pending =
      Queue(*std::move(event), outbox_id, /*wanted=*/false);
  if (!pending.ok()) return [status = pending.status()] { return status; };
  return [this, pending = *std::move(pending)] {
    Want(*pending);
    pending->done.WaitForNotification();
    return pending->result.status();
  };
}

ActivityEvent ActivityLog::Attributed(const auth::Principal& actor, ActivityEvent event) const {
  event.node = node_id_;
  switch (actor.kind) {
    case auth::Principal::Kind::kPerson:
      event.actor = actor.subject.empty()
                        ? ""
                        : absl::StrCat(actor.subject, "@", actor.HomeOf(node_id_));
      if (!actor.home_node.empty()) event.via = actor.home_node;
      break;
    case auth::Principal::Kind::kNode:
      event.actor = absl::StrCat("node/", actor.subject);
      break;
    case auth::Principal::Kind::kService:
      event.actor = absl::StrCat("service/", actor.subject);
      break;
  }
  event.role = auth::RoleName(actor.role);
  // What the node did not write itself is kept printable and bounded: a
  // token's header or a library's error reaches the log and stderr as one
  // line of at most a few kilobytes.
  event.reason = PrintableText(event.reason, kMaxReasonBytes);
  event.object = PrintableText(event.object, kMaxObjectBytes);
  return event;
}

void ActivityLog::WriteLoop() {
  while (true) {
    std::vector<std::shared_ptr<Pending>> batch;
    CompactRange range;
    SyncFile sync;
    {
      absl::MutexLock lock(&mu_);
      // Records nobody waits for yet wait for one that is (or the stop), so
      // that a piece of work's records share one commit; but no longer
      // than kLinger, for a piece of work that waits for none of its own.
      auto wanted = [this]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wanted_ > 0 || stopping_; };
      auto queued = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return wanted_ > 0 || stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&queued));
      if (!wanted()) mu_.AwaitWithTimeout(absl::Condition(&wanted), kLinger);
      if (queue_.empty()) return;  // stopping, and nothing left to write
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        Pending& taken = *queue_.front();
        taken.taken = true;
        wanted_ -= taken.wanted;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      writing_last_ = batch.back();
      range = committed_;
      sync = sync_;
    }
    std::vector<absl::StatusOr<uint64_t>> results(batch.size());
    if (!unsynced_.ok()) {
      writing_.store(false, std::memory_order_relaxed);
      {
        absl::MutexLock lock(&mu_);
        writing_last_ = nullptr;
      }
      for (const std::shared_ptr<Pending>& pending : batch) {
        pending->result = unsynced_;
        pending->done.Notify();
      }
      continue;
    }
    const CompactRange before = range;
    absl::Status written = WriteBatch(batch, range);
    auto failed = [](const absl::Status& status) {
      return absl::UnavailableError(
          absl::StrCat("the activity log could not write: ", status.message()));
    };
    if (written.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) results[i] = range.size() - batch.size() + i;
    } else if (batch.size() == 1) {
      range = before;
      results[0] = failed(written);
    } else {
      // A record that cannot be written fails alone: the batch is written
      // again one record at a time, in order.
      range = before;
      for (size_t i = 0; i < batch.size(); ++i) {
        std::vector<std::shared_ptr<Pending>> one = {batch[i]};
        CompactRange next = range;
        written = WriteBatch(one, next);
        if (written.ok()) {
          range = std::move(next);
          results[i] = range.size() - 1;
        } else {
          results[i] = failed(written);
        }
      }
    }
    bool synced = true;
    if (range.size() > before.size()) {
      if (sync(wal_fd_) != 0) {
        // The commits are in the database, but perhaps not on the disk,
        // and after a failed sync no later sync says they are: nothing
        // more is appended, so nothing more that waits for its record
        // takes effect, until the node restarts and reads what is there.
        unsynced_ = absl::UnavailableError(absl::StrCat(
            "the activity log could not make its writes durable (", std::strerror(errno),
            "); it appends nothing more until the node is restarted"));
        written = unsynced_;
        for (absl::StatusOr<uint64_t>& result : results) {
          if (result.ok()) result = unsynced_;
        }
        synced = false;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      // Only what is known to be on the disk counts (and is signed in a
      // checkpoint): after a failed sync the tree stays as it was; the
      // restart reads what the database holds.
      if (synced) committed_ = range;
      writing_last_ = nullptr;
    }
    writing_.store(written.ok(), std::memory_order_relaxed);
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = std::move(results[i]);
      batch[i]->done.Notify();
    }
  }
}

absl::Status ActivityLog::WriteBatch(std::vector<std::shared_ptr<Pending>>& batch,
                                     CompactRange& range) {
  SqliteDb& db = *writer_db_;
  storage::SqliteTransaction txn(db);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(
      SqliteStatement entry,
      db.PrepareCached(
          "INSERT INTO log_entries(idx, leaf, leaf_hash, subtrees) VALUES (?, ?, ?, ?)"));
  ASSIGN_OR_RETURN(SqliteStatement consumed,
                   db.PrepareCached("DELETE FROM log_outbox WHERE id = ?"));
  std::vector<CompactRange::Subtree> completed;
  std::string subtrees;
  for (const std::shared_ptr<Pending>& pending : batch) {
    if (pending->outbox_id != 0) {
      consumed.Reset();
      consumed.Bind(1, pending->outbox_id);
      RETURN_IF_ERROR(consumed.Run());
      if (db.Changes() != 1) {
        // Appended already (by an earlier open): never twice.
        return absl::InternalError(absl::StrCat("outbox row ", pending->outbox_id, " is gone"));
      }
    }
    uint64_t index = range.size();
    completed.clear();
    range.Append(pending->leaf_hash, &completed);
    subtrees.clear();
    for (const auto& subtree : completed) {  // level 0 upward
      if (subtree.level > 0) subtrees += HashBytes(subtree.hash);
    }
    entry.Reset();
    entry.Bind(1, static_cast<int64_t>(index))
        .BindBlob(2, pending->leaf)
        .BindBlob(3, HashBytes(pending->leaf_hash));
    if (subtrees.empty()) {
      entry.BindNull(4);
    } else {
      entry.BindBlob(4, subtrees);
    }
    RETURN_IF_ERROR(entry.Run());
  }
  return txn.Commit();
}

uint64_t ActivityLog::size() const {
  absl::MutexLock lock(&mu_);
  return committed_.size();
}

uint64_t ActivityLog::WaitForGrowth(uint64_t size, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto grown = [this, size]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return committed_.size() > size || stopping_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&grown), timeout);
  return committed_.size();
}

Hash ActivityLog::root() const {
  absl::MutexLock lock(&mu_);
  return committed_.Root();
}

void ActivityLog::Flush() {
  std::shared_ptr<Pending> last;
  {
    absl::MutexLock lock(&mu_);
    for (const std::shared_ptr<Pending>& pending : queue_) {
      if (!pending->wanted) ++wanted_;
      pending->wanted = true;
    }
    last = queue_.empty() ? writing_last_ : queue_.back();
  }
  if (last == nullptr) return;
  // Written in order: the last written means every one before it was too.
  last->done.WaitForNotification();
}

absl::StatusOr<std::string> ActivityLog::Checkpoint() {
  Flush();
  absl::MutexLock checkpoint_lock(&checkpoint_mu_);
  CompactRange tree;
  {
    absl::MutexLock lock(&mu_);
    tree = committed_;
  }
  auto db = readers_->Acquire();
  if (tree.size() > checkpoint_size_ || checkpoint_size_ == 0) {
    ASSIGN_OR_RETURN(std::string note,
                     signer_.Sign(CheckpointText(signer_.name(), tree.size(), tree.Root())));
    ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db->PrepareCached("INSERT OR IGNORE INTO log_checkpoints(size, note) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, static_cast<int64_t>(tree.size())).Bind(2, note).Run());
    // And outside the database, replaced atomically, so that restoring the
    // database alone cannot roll the log back behind it.
    RETURN_IF_ERROR(WriteFileAtomically(checkpoint_copy_, note));
    checkpoint_size_ = tree.size();
  }
  ASSIGN_OR_RETURN(
      SqliteStatement latest,
      db->PrepareCached("SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1"));
  ASSIGN_OR_RETURN(bool found, latest.Step());
  if (!found) return absl::InternalError("no checkpoint was stored");
  return latest.Text(0);
}

SubtreeHashes ActivityLog::Subtrees(SqliteDb& db) const {
  return [&db](int level, uint64_t index) { return StoredNode(db, level, index); };
}

absl::StatusOr<std::vector<std::string>> ActivityLog::Leaves(uint64_t begin, uint64_t end) {
  if (begin > end || end > size()) {
    return absl::OutOfRangeError(
        absl::StrCat("entries [", begin, ", ", end, ") are beyond the log's ", size()));
  }
  auto db = readers_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT leaf FROM log_entries WHERE idx >= ? AND idx < ?"
                                     " ORDER BY idx"));
  select.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
  std::vector<std::string> leaves;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    leaves.push_back(select.Blob(0));
  }
  if (leaves.size() != end - begin) return absl::DataLossError("log entries are missing");
  return leaves;
}

absl::StatusOr<std::vector<Hash>> ActivityLog::InclusionProof(uint64_t index, uint64_t tree_size) {
  if (tree_size > size()) {
    return absl::OutOfRangeError(absl::StrCat("the log has ", size(), " entries, not ", tree_size));
  }
  auto db = readers_->Acquire();
  return log::InclusionProof(index, tree_size, Subtrees(*db));
}

absl::StatusOr<std::vector<Hash>> ActivityLog::ConsistencyProof(uint64_t size1, uint64_t size2) {
  if (size2 > size()) {
    return absl::OutOfRangeError(absl::StrCat("the log has ", size(), " entries, not ", size2));
  }
  auto db = readers_->Acquire();
  return log::ConsistencyProof(size1, size2, Subtrees(*db));
}

}  // namespace trenode::log
