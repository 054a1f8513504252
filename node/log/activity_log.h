// ActivityLog: the node's append-only, tamper-evident log (spec/activity-log.md).
// Events become canonical leaves of an RFC 9162 Merkle tree kept in SQLite:
// the leaves and every perfect subtree hash, so proofs need no re-hashing and
// a restart reads the tree's right edge instead of re-hashing history.
//
// Appends go through one writer thread with group commit: many callers wait
// while their events are written in one transaction and one fsync, and each
// is released only when its event is durable. Records queued for a
// DeferredRecords scope (AppendFromOutboxQueued) are written with the next
// record someone waits for, so one piece of work's changes share a commit. Checkpoints are C2SP signed
// notes of the committed tree; the log signs only trees it has committed, so
// no two of its checkpoints are inconsistent.
//
// Thread-safe.
#ifndef TRENODE_NODE_LOG_ACTIVITY_LOG_H_
#define TRENODE_NODE_LOG_ACTIVITY_LOG_H_

#include <unistd.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node/log/activity_event.h"
#include "node/log/event_sink.h"
#include "node/log/merkle.h"
#include "node/log/signed_note.h"
#include "node/storage/sqlite_pool.h"

namespace trenode::log {

class ActivityLog : public EventSink {
 public:
  using Clock = std::function<absl::Time()>;

  // Opens the log in the node database at `path` (the node schema is
  // applied), checks the stored tree against the last signed checkpoint, and
  // starts the writer. The latest signed checkpoint is also kept in the file
  // `checkpoint_copy` (default: `path` + ".checkpoint"), outside the
  // database, so that a database restored from an older copy cannot take
  // the log back behind what the node has signed. DataLoss if the stored
  // tree is shorter than, or differs from, what either says was signed
  // (rolled back, restored or altered). `node_id` is written into every
  // recorded event. Before returning, appends every record left in the
  // outbox (changes whose record was not appended before the node stopped),
  // oldest first.
  static absl::StatusOr<std::unique_ptr<ActivityLog>> Open(const std::string& path,
                                                           NoteSigner signer,
                                                           std::string node_id = "",
                                                           Clock clock = &absl::Now,
                                                           std::string checkpoint_copy = "");
  // Writes what is queued, then stops.
  ~ActivityLog();

  // How long a record nobody waits for may wait for one that somebody does
  // before it is written on its own.
  static constexpr absl::Duration kLinger = absl::Seconds(1);

  // For tests: how the writer makes its commits durable, given the
  // write-ahead log's file descriptor (default ::fdatasync; non-zero with
  // errno set is a failure).
  using SyncFile = std::function<int(int fd)>;
  void SyncWith(SyncFile sync) {
    absl::MutexLock lock(&mu_);
    sync_ = std::move(sync);
  }

  // Appends `event` (its time is set to now) and returns its index once it
  // is durable. Unavailable if the write failed (nothing of the batch stays).
  absl::StatusOr<uint64_t> Append(ActivityEvent event);

  // EventSink: node, actor and role from this node and `actor`, then Append.
  absl::Status Record(const auth::Principal& actor, ActivityEvent event) override;
  // EventSink: the event as Record would append it, as a canonical leaf
  // whose time is set when it is appended.
  std::string OutboxRecord(const auth::Principal& actor, ActivityEvent event) override;
  // EventSink: appends the record and deletes outbox row `outbox_id` in the
  // same transaction.
  absl::Status AppendFromOutbox(int64_t outbox_id, const std::string& record) override;
  // EventSink: as AppendFromOutbox, returning once the record is queued
  // (DeferredRecords); the writer commits it with the next batch.
  Durable AppendFromOutboxQueued(int64_t outbox_id, const std::string& record) override;

  // How many records of changes made before the log last opened were found
  // in the outbox, and appended, by Open.
  uint64_t recovered_at_open() const { return recovered_at_open_; }

  // Whether the log's latest write of entries succeeded (true before any):
  // false from a failed write until the next that succeeds. While false the
  // node refuses calls it cannot record, and its health says NOT_SERVING.
  bool writing() const { return writing_.load(std::memory_order_relaxed); }

  uint64_t size() const;
  // Waits until the log holds more than `size` entries or `timeout` passes;
  // returns the size then.
  uint64_t WaitForGrowth(uint64_t size, absl::Duration timeout) const;
  Hash root() const;

  // Writes every record queued now, whether or not anybody waits for it,
  // and waits until they are written: a reader of the log (an auditor, a
  // witness's checkpoint) sees everything the node has done by then.
  void Flush() override;

  // The latest checkpoint, signing a new one first if the tree has grown;
  // flushed first.
  absl::StatusOr<std::string> Checkpoint();

  // Canonical leaves [begin, end); OutOfRange beyond the tree.
  absl::StatusOr<std::vector<std::string>> Leaves(uint64_t begin, uint64_t end);
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size);
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2);

  const NoteSigner& signer() const { return signer_; }

 private:
  struct Pending;
  ActivityLog(std::unique_ptr<storage::SqliteDb> writer, int wal_fd,
              std::unique_ptr<storage::SqlitePool> readers, NoteSigner signer, std::string node_id,
              Clock clock, CompactRange range, uint64_t checkpoint_size,
              std::string checkpoint_copy);
  void WriteLoop();
  absl::Status WriteBatch(std::vector<std::shared_ptr<Pending>>& batch, CompactRange& range);
  SubtreeHashes Subtrees(storage::SqliteDb& db) const;
  ActivityEvent Attributed(const auth::Principal& actor, ActivityEvent event) const;
  // Queues `event` (its time set now) for the writer; Unavailable if
  // stopping. Not `wanted`: written with the next record someone waits for
  // (or at the stop), once Want is called for it at the latest.
  absl::StatusOr<std::shared_ptr<Pending>> Queue(ActivityEvent event, int64_t outbox_id,
                                                 bool wanted);
  void Want(Pending& pending);
  // Queue, then waits until the writer has written it.
  absl::StatusOr<uint64_t> Enqueue(ActivityEvent event, int64_t outbox_id);
  absl::Status AppendLeftInOutbox();

  std::unique_ptr<storage::SqliteDb> writer_db_;  // the writer thread's only
  const int wal_fd_;       // the database's write-ahead log, synced by the writer
  absl::Status unsynced_;  // the writer thread's: set for good by a failed sync
  std::unique_ptr<storage::SqlitePool> readers_;
  const NoteSigner signer_;
  const std::string node_id_;
  const Clock clock_;

  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<Pending>> queue_ ABSL_GUARDED_BY(mu_);
  int64_t wanted_ ABSL_GUARDED_BY(mu_) = 0;  // records in queue_ someone waits for
  // The last record of the batch the writer is writing, if any.
  std::shared_ptr<Pending> writing_last_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  CompactRange committed_ ABSL_GUARDED_BY(mu_);
  SyncFile sync_ ABSL_GUARDED_BY(mu_) = &::fdatasync;

  absl::Mutex checkpoint_mu_;
  uint64_t checkpoint_size_ ABSL_GUARDED_BY(checkpoint_mu_);
  const std::string checkpoint_copy_;  // the file outside the database

  uint64_t recovered_at_open_ = 0;
  std::atomic<bool> writing_{true};

  std::thread writer_;
};

// The checkpoint body: "<origin>\n<size>\n<base64 root>\n".
std::string CheckpointText(const std::string& origin, uint64_t size, const Hash& root);

struct CheckpointBody {
  std::string origin;
  uint64_t size;
  Hash root;
};
// Parses a verified checkpoint body; InvalidArgument if malformed.
absl::StatusOr<CheckpointBody> ParseCheckpointText(absl::string_view text);

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_ACTIVITY_LOG_H_
