// Small RAII wrappers over the SQLite C API: a connection, a prepared
// statement and a transaction. The sqlite3 types stay inside sqlite.cc.
//
// Thread-safety: a SqliteDb and its statements belong to one thread at a time;
// callers that share a connection serialize access themselves. SQLite is
// opened in multi-thread mode, so distinct connections may be used in parallel.
#ifndef TRENODE_NODE_STORAGE_SQLITE_H_
#define TRENODE_NODE_STORAGE_SQLITE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace trenode::storage {

class SqliteStatement;

class SqliteDb {
 public:
  enum class Mode { kReadWriteCreate, kReadWrite, kReadOnly };

  // Opens (or creates, in kReadWriteCreate) the database file at `path`, with
  // WAL journaling and foreign keys on, and no memory map, for writable
  // connections. Fails with Unavailable if the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                        Mode mode = Mode::kReadWriteCreate);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows.
  absl::Status Exec(absl::string_view sql);
  // Runs one statement that returns no rows, compiled once per connection
  // (PrepareCached): for constant SQL run often, as BEGIN and COMMIT are.
  absl::Status ExecCached(absl::string_view sql);

  // Prepares one statement. InvalidArgument names the SQL error.
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);

  // As Prepare, but keeps the compiled statement on this connection for the
  // next call with the same SQL; the returned statement is reset (bindings
  // cleared) when destroyed. At most one statement per SQL text may be in use.
  absl::StatusOr<SqliteStatement> PrepareCached(absl::string_view sql);

  // From now on, a statement running on this connection asks `stop` every
  // few thousand virtual machine steps and, once it returns true, fails with
  // Cancelled ("interrupted"). `stop` runs on the thread that steps the
  // statement. A null `stop` removes the check.
  void SetStopCheck(std::function<bool()> stop);
  // Whether the stop check asks for work on this connection to stop now:
  // for work a caller does in place of stepping a statement, which should
  // stop as a statement would. False without a check.
  bool StopRequested() const { return stop_ && stop_(); }

  int64_t LastInsertRowId() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int Changes() const;
  // The write-ahead log's file name, as SQLite names it (symbolic links in
  // the database's path followed).
  std::string WalPath() const;

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
  std::function<bool()> stop_;
};

// A prepared statement. Bind indexes start at 1, column indexes at 0.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  ~SqliteStatement();

  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& Bind(int index, absl::string_view text);
  SqliteStatement& BindBlob(int index, absl::string_view bytes);
  SqliteStatement& BindNull(int index);

  // Advances: true when a row is ready, false when done. A constraint
  // violation is FailedPrecondition; a busy database is Unavailable.
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring rows.
  absl::Status Run();
  // Makes the statement ready to run again with new bindings.
  void Reset();
  // The largest parameter number (?N) the statement names.
  int ParameterCount() const;
  // Makes the statement ready to run again with the same bindings.
  void Rewind();

  enum class ValueType { kNull, kInteger, kReal, kText, kBlob };
  // The storage class of the value in `column` of the current row.
  ValueType TypeOf(int column) const;
  bool IsNull(int column) const;
  int64_t Int64(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;
  // The text of `column` without copying it: valid until the statement
  // steps, resets or is destroyed.
  absl::string_view TextView(int column) const;
  std::string Blob(int column) const;

 private:
  friend class SqliteDb;
  void Release();
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, bool cached = false)
      : db_(db), stmt_(stmt), cached_(cached) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  // Owned by the connection's cache: reset, not finalized, on destruction.
  bool cached_ = false;
  // The first bind failure, reported by the next Step().
  std::optional<absl::Status> bind_error_;
};

// BEGIN IMMEDIATE on construction; rolls back on destruction unless Commit()
// succeeded. Begin() failure is reported by status().
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  const absl::Status& status() const { return begin_status_; }
  absl::Status Commit();

 private:
  SqliteDb& db_;
  absl::Status begin_status_;
  bool open_ = false;
};

// Runs `body` in a SqliteTransaction on `db`, committing only if it returned
// OK (so a write that changed nothing can roll back by returning an error).
absl::Status InTransaction(SqliteDb& db, absl::FunctionRef<absl::Status()> body);

}  // namespace trenode::storage

#endif  // TRENODE_NODE_STORAGE_SQLITE_H_
