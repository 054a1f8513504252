// EventSink: where the domain and the authorization gate report what
// happened. The node's only implementation is the ActivityLog, so every event
// takes the log's append path; it fills in the node, and the actor and role
// from the authenticated principal (never from a request). Decisions and
// acts (an allowed call, data read, a file served) are recorded before they
// take effect; changes are recorded with RecordedChange.
#ifndef TRENODE_NODE_LOG_EVENT_SINK_H_
#define TRENODE_NODE_LOG_EVENT_SINK_H_

#include <functional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "node/auth/principal.h"
#include "node/log/activity_event.h"

namespace trenode::log {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Durably records `event` on behalf of `actor`. Unavailable if it could not.
  virtual absl::Status Record(const auth::Principal& actor, ActivityEvent event) = 0;

  // For changes (RecordedChange): `event` on behalf of `actor`, encoded to be
  // kept in the outbox by the change's own transaction. Empty: this sink
  // keeps no outbox, and the change is recorded with Record after it.
  virtual std::string OutboxRecord(const auth::Principal& /*actor*/, ActivityEvent /*event*/) {
    return "";
  }
  // Durably records an OutboxRecord that outbox row `outbox_id` holds, and
  // deletes the row with it.
  virtual absl::Status AppendFromOutbox(int64_t /*outbox_id*/, const std::string& /*record*/) {
    return absl::UnimplementedError("this event sink keeps no outbox");
  }
  // As AppendFromOutbox, but returns once the record is queued to be
  // appended (after every record queued before it, before every record
  // queued after it); the returned function waits until it is durable and
  // says whether it was, and is called at most once. Not called, the record
  // is appended with the next record somebody waits for, or on its own
  // soon after (the log's linger). The default appends at once.
  using Durable = std::function<absl::Status()>;
  virtual Durable AppendFromOutboxQueued(int64_t outbox_id, const std::string& record) {
    absl::Status appended = AppendFromOutbox(outbox_id, record);
    return [appended] { return appended; };
  }

  // Returns once every record queued before the call is written (or its
  // write has failed), whether or not anybody waited for it: before a
  // change is told outside the node that its maker did not wait for (a
  // partner told where its part stands), or the log is read. The default
  // has nothing queued.
  virtual void Flush() {}
};

// A piece of work that makes several changes in a row and acknowledges or
// acts on them only at its end (a call's reply, a release published). While
// one is open on a thread, RecordedChange on that thread
// does not wait for its record to be durable; the records are appended in
// order, by the log's group commit, while the work goes on. Finish waits
// until every one is durable. Each change is still one unit with its record
// (the outbox), and a later Record on the thread waits for every record
// before it (the log is appended in order), so a decision or act recorded
// with Record is never on disk without the changes before it. (The node's
// stores and its log share one SQLite database in WAL mode: the log's synced
// commit makes every change committed before it durable, outbox row and all;
// a crash before it loses a change together with its record, or keeps both,
// and the record is appended when the log next opens.)
//
// Contract for callers: call Finish before the work's result is returned to
// a caller or acted on outside this node's database. Scopes nest (the
// innermost collects). One thread; not thread-safe.
//
// A piece of work that is answered to nobody and does nothing outside the
// database at its end (a node's own thread moving its work along) opens its
// scope with AtEnd::kLeaveToTheLog: its end waits for none of its records,
// nor does the Finish of any scope inside it (the work inside is answered
// to this one), and they are appended with the next record somebody waits
// for, or on their own soon after. An act inside it (a file copied out to
// egress) is still recorded with Record, which waits for every record before
// it, before the file can be downloaded; whoever tells such a change outside
// the node calls EventSink::Flush first.
class DeferredRecords {
 public:
  enum class AtEnd { kWait, kLeaveToTheLog };
  explicit DeferredRecords(AtEnd at_end = AtEnd::kWait);
  // Waits as Finish does (its status is lost: call Finish).
  ~DeferredRecords();
  DeferredRecords(const DeferredRecords&) = delete;
  DeferredRecords& operator=(const DeferredRecords&) = delete;

  // Waits for every record deferred in this scope. OK if all are durable;
  // otherwise Internal, as RecordedChange says of a record that could not
  // be appended (the changes stand; their records stay in the outbox).
  // Inside a scope left to the log, or of one: hands them to the log and
  // returns OK at once.
  absl::Status Finish();

  // For RecordedChange: the innermost open scope of this thread, or null.
  static DeferredRecords* Current();
  void Add(EventSink::Durable durable) { pending_.push_back(std::move(durable)); }

 private:
  DeferredRecords* const outer_;
  // This scope's end waits for nothing: it, or a scope around it, is left
  // to the log.
  const bool left_to_the_log_;
  std::vector<EventSink::Durable> pending_;
};

// The event of a change: outcome "success".
ActivityEvent ChangeEvent(std::string action, std::string object, std::string project = "",
                          std::string reason = "");

// Makes `change` (one store write) and its record one unit. The record is
// written by the change's own SQLite transaction into the outbox
// (storage::OutboxEntry), then appended to the log. A failed change records
// nothing and returns its status. If the append fails, the change stands and
// its record stays in the outbox, appended when the log next opens: Internal
// says so. Inside a DeferredRecords scope it returns once the record is
// queued, and the scope's Finish says whether it was appended. Stores without SQLite (fakes) are recorded with Record after the
// change. `sink` may be null (nothing is recorded). `made`, if given, is set
// to whether the change was made (true also when only its record failed).
absl::Status RecordedChange(EventSink* sink, const auth::Principal& actor, ActivityEvent event,
                            absl::FunctionRef<absl::Status()> change, bool* made = nullptr);

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_EVENT_SINK_H_
