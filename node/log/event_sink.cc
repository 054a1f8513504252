#include "node/log/event_sink.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "node/storage/outbox.h"

namespace trenode::log {

ActivityEvent ChangeEvent(std::string action, std::string object, std::string project,
                          std::string reason) {
  ActivityEvent event;
  event.action = std::move(action);
  event.object = std::move(object);
  event.outcome = "success";
  event.project = std::move(project);
  event.reason = std::move(reason);
  return event;
}

namespace {
thread_local DeferredRecords* current_scope = nullptr;

absl::Status NotAppended(bool outboxed, absl::string_view why) {
  return absl::InternalError(absl::StrCat(
      "the change was made but its activity-log record could not be appended",
      outboxed ? " now; the record is kept and is appended when the node next starts: " : ": ",
      why));
}
}  // namespace

DeferredRecords::DeferredRecords(AtEnd at_end)
    : outer_(current_scope),
      left_to_the_log_(at_end == AtEnd::kLeaveToTheLog ||
                       (outer_ != nullptr && outer_->left_to_the_log_)) {
  current_scope = this;
}

DeferredRecords::~DeferredRecords() {
  (void)Finish();
  current_scope = outer_;
}

absl::Status DeferredRecords::Finish() {
  if (left_to_the_log_) {
    pending_.clear();  // each appended with a later batch (EventSink::Durable)
    return absl::OkStatus();
  }
  absl::Status first;
  for (EventSink::Durable& durable : pending_) {
    absl::Status appended = durable();
    if (first.ok() && !appended.ok()) first = NotAppended(true, appended.message());
  }
  pending_.clear();
  return first;
}

DeferredRecords* DeferredRecords::Current() { return current_scope; }

absl::Status RecordedChange(EventSink* sink, const auth::Principal& actor, ActivityEvent event,
                            absl::FunctionRef<absl::Status()> change, bool* made) {
  if (made != nullptr) *made = false;
  if (sink == nullptr) {
    absl::Status changed = change();
    if (made != nullptr) *made = changed.ok();
    return changed;
  }
  std::optional<int64_t> outbox_id;
  std::string record = sink->OutboxRecord(actor, event);
  absl::Status changed;
  {
    std::optional<storage::OutboxEntry> entry;
    if (!record.empty()) entry.emplace(record);
    changed = change();
    if (entry) outbox_id = entry->id();
  }
  if (!changed.ok()) return changed;
  if (made != nullptr) *made = true;
  if (DeferredRecords* scope = DeferredRecords::Current(); scope != nullptr && outbox_id) {
    scope->Add(sink->AppendFromOutboxQueued(*outbox_id, record));
    return absl::OkStatus();
  }
  absl::Status recorded = outbox_id ? sink->AppendFromOutbox(*outbox_id, record)
                                    : sink->Record(actor, std::move(event));
  if (!recorded.ok()) return NotAppended(outbox_id.has_value(), recorded.message());
  return absl::OkStatus();
}

}  // namespace trenode::log
