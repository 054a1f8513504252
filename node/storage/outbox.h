// OutboxEntry: a record that must commit together with the change it
// describes (spec/activity-log.md, "Completeness").
//
// While an entry is open on a thread, the first SqliteTransaction committed
// on that thread inserts the entry's bytes into the table `log_outbox` in
// that same transaction, and the entry keeps the row's id. So the change and
// its record are stored together or not at all; whoever consumes the record
// (the activity log) deletes the row in the transaction that consumes it,
// and consumes every row left behind when it next opens.
//
// Stores commit a transaction only when their change was made: a store
// method that finds nothing to change rolls back, so no record is written
// for a change that did not happen. One entry per thread at a time.
#ifndef TRENODE_NODE_STORAGE_OUTBOX_H_
#define TRENODE_NODE_STORAGE_OUTBOX_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace trenode::storage {

class SqliteDb;

class OutboxEntry {
 public:
  // Opens the entry on this thread; `record` is kept opaque.
  explicit OutboxEntry(std::string record);
  ~OutboxEntry();
  OutboxEntry(const OutboxEntry&) = delete;
  OutboxEntry& operator=(const OutboxEntry&) = delete;

  // The outbox row's id, once a transaction on this thread wrote it.
  std::optional<int64_t> id() const { return id_; }
  const std::string& record() const { return record_; }

  // Called by SqliteTransaction::Commit just before COMMIT: writes the open,
  // not yet written entry of this thread (if any) into `db`'s outbox.
  static absl::Status WriteOpenEntry(SqliteDb& db);

 private:
  std::string record_;
  std::optional<int64_t> id_;
  std::optional<int64_t> pending_id_;  // written, not yet committed
  OutboxEntry* previous_;

  friend class SqliteTransaction;
  // The transaction's COMMIT succeeded, or failed.
  static void Committed(bool ok);
};

}  // namespace trenode::storage

#endif  // TRENODE_NODE_STORAGE_OUTBOX_H_
