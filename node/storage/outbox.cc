#include "node/storage/outbox.h"

#include <utility>

#include "node/storage/sqlite.h"

namespace trenode::storage {
namespace {

thread_local OutboxEntry* open_entry = nullptr;

}  // namespace

OutboxEntry::OutboxEntry(std::string record) : record_(std::move(record)), previous_(open_entry) {
  open_entry = this;
}

OutboxEntry::~OutboxEntry() { open_entry = previous_; }

absl::Status OutboxEntry::WriteOpenEntry(SqliteDb& db) {
  OutboxEntry* entry = open_entry;
  if (entry == nullptr || entry->id_.has_value() || entry->pending_id_.has_value()) {
    return absl::OkStatus();
  }
  absl::StatusOr<SqliteStatement> insert =
      db.PrepareCached("INSERT INTO log_outbox(record) VALUES (?)");
  if (!insert.ok()) return insert.status();
  insert->BindBlob(1, entry->record_);
  if (absl::Status status = insert->Run(); !status.ok()) return status;
  entry->pending_id_ = db.LastInsertRowId();
  return absl::OkStatus();
}

void OutboxEntry::Committed(bool ok) {
  OutboxEntry* entry = open_entry;
  if (entry == nullptr || !entry->pending_id_.has_value()) return;
  if (ok) entry->id_ = entry->pending_id_;
  entry->pending_id_.reset();
}

}  // namespace trenode::storage
