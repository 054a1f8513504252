#include "node/storage/sqlite.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "node/common/fault.h"
#include "node/storage/outbox.h"

namespace trenode::storage {
namespace {

// SQLite's errors are this node's faults (MarkedFault): their text names
// files, tables and SQL. An interrupt is the caller's own stop, not a fault.
absl::Status FromSqlite(sqlite3* db, int rc, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return MarkedFault(absl::UnavailableError(message));
    case SQLITE_CONSTRAINT:
      return MarkedFault(absl::FailedPreconditionError(message));
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return MarkedFault(absl::UnavailableError(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return MarkedFault(absl::DataLossError(message));
    case SQLITE_INTERRUPT:
      return absl::CancelledError(message);
    default:
      return MarkedFault(absl::InternalError(message));
  }
}

// Process-wide settings, made before SQLite first initializes. No global
// memory statistics: keeping them takes one mutex around every allocation
// of every connection in the process (SQLite's malloc and free waiting on
// it were 4.4% of the 8-node federation bench's CPU); the node reads none
// of them and sets no heap limit.
void ConfigureSqliteOnce() {
  static const bool configured = [] {
    // SQLITE_MISUSE if SQLite was initialized already: then it stays as it was.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, Mode mode) {
  ConfigureSqliteOnce();
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case Mode::kReadWriteCreate:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
    case Mode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case Mode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = MarkedFault(
        absl::UnavailableError(absl::StrCat("cannot open SQLite database ", path, ": ",
                                            raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))));
    sqlite3_close(raw);
    return status;
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 1);
  if (mode != Mode::kReadOnly) {
    // Not memory-mapped: a connection unmaps the whole file whenever another
    // has changed it since its last read, which the node's connections to
    // its database do all the time (munmap, with the page faults after it,
    // was 3.5% of the 8-node federation bench's CPU). One that reads a file
    // no other connection changes may map it itself.
    if (absl::Status s = db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                  " PRAGMA foreign_keys=ON; PRAGMA cache_size=-32000;"
                                  " PRAGMA mmap_size=0;");
        !s.ok()) {
      return MarkedFault(absl::UnavailableError(
          absl::StrCat("cannot open SQLite database ", path, ": ", s.message())));
    }
  }
  return db;
}

void SqliteDb::SetStopCheck(std::function<bool()> stop) {
  // SQLite calls the handler about every kSteps virtual machine steps (a few
  // tens of microseconds); a non-zero return interrupts the statement.
  constexpr int kSteps = 1000;
  stop_ = std::move(stop);
  if (!stop_) {
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    return;
  }
  sqlite3_progress_handler(
      db_, kSteps,
      [](void* check) { return (*static_cast<std::function<bool()>*>(check))() ? 1 : 0; }, &stop_);
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::StatusOr<SqliteStatement> SqliteDb::PrepareCached(absl::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      return MarkedFault(absl::InvalidArgumentError(
          absl::StrCat("cannot prepare SQL: ", sqlite3_errmsg(db_), " in: ", sql)));
    }
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return SqliteStatement(db_, it->second, /*cached=*/true);
}

absl::Status SqliteDb::Exec(absl::string_view sql) {
  std::string owned(sql);
  char* error = nullptr;
  int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return absl::OkStatus();
  absl::Status status = FromSqlite(db_, rc, "SQL failed");
  sqlite3_free(error);
  return status;
}

absl::Status SqliteDb::ExecCached(absl::string_view sql) {
  absl::StatusOr<SqliteStatement> statement = PrepareCached(sql);
  if (!statement.ok()) return statement.status();
  return statement->Run();
}

absl::StatusOr<SqliteStatement> SqliteDb::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return MarkedFault(absl::InvalidArgumentError(
        absl::StrCat("cannot prepare SQL: ", sqlite3_errmsg(db_), " in: ", sql)));
  }
  return SqliteStatement(db_, stmt);
}

std::string SqliteDb::WalPath() const {
  const char* wal = sqlite3_filename_wal(sqlite3_db_filename(db_, "main"));
  return wal != nullptr ? wal : "";
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int SqliteDb::Changes() const { return sqlite3_changes(db_); }

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      cached_(other.cached_),
      bind_error_(std::move(other.bind_error_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    Release();
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    cached_ = other.cached_;
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { Release(); }

void SqliteStatement::Release() {
  if (stmt_ == nullptr) return;
  if (cached_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
}

namespace {
void Remember(std::optional<absl::Status>& slot, sqlite3* db, int rc, int index) {
  if (rc != SQLITE_OK && !slot) {
    slot = FromSqlite(db, rc, absl::StrCat("cannot bind parameter ", index));
  }
}
}  // namespace

SqliteStatement& SqliteStatement::Bind(int index, int64_t value) {
  Remember(bind_error_, db_, sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}
SqliteStatement& SqliteStatement::Bind(int index, double value) {
  Remember(bind_error_, db_, sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}
SqliteStatement& SqliteStatement::Bind(int index, absl::string_view text) {
  Remember(
      bind_error_, db_,
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}
SqliteStatement& SqliteStatement::BindBlob(int index, absl::string_view bytes) {
  Remember(bind_error_, db_,
           sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT), index);
  return *this;
}
SqliteStatement& SqliteStatement::BindNull(int index) {
  Remember(bind_error_, db_, sqlite3_bind_null(stmt_, index), index);
  return *this;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  if (bind_error_) return *bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return FromSqlite(db_, rc, "SQL step failed");
}

absl::Status SqliteStatement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void SqliteStatement::Rewind() { sqlite3_reset(stmt_); }

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_.reset();
}

SqliteStatement::ValueType SqliteStatement::TypeOf(int column) const {
  switch (sqlite3_column_type(stmt_, column)) {
    case SQLITE_INTEGER:
      return ValueType::kInteger;
    case SQLITE_FLOAT:
      return ValueType::kReal;
    case SQLITE_TEXT:
      return ValueType::kText;
    case SQLITE_BLOB:
      return ValueType::kBlob;
    default:
      return ValueType::kNull;
  }
}

int SqliteStatement::ParameterCount() const { return sqlite3_bind_parameter_count(stmt_); }
bool SqliteStatement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
int64_t SqliteStatement::Int64(int column) const { return sqlite3_column_int64(stmt_, column); }
double SqliteStatement::Double(int column) const { return sqlite3_column_double(stmt_, column); }
std::string SqliteStatement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return text ? std::string(reinterpret_cast<const char*>(text), size) : std::string();
}
absl::string_view SqliteStatement::TextView(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return text ? absl::string_view(reinterpret_cast<const char*>(text), size)
              : absl::string_view();
}
std::string SqliteStatement::Blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return blob ? std::string(static_cast<const char*>(blob), size) : std::string();
}

SqliteTransaction::SqliteTransaction(SqliteDb& db) : db_(db) {
  begin_status_ = db_.ExecCached("BEGIN IMMEDIATE");
  open_ = begin_status_.ok();
}

SqliteTransaction::~SqliteTransaction() {
  if (open_) db_.ExecCached("ROLLBACK").IgnoreError();
}

absl::Status SqliteTransaction::Commit() {
  if (!open_) return absl::FailedPreconditionError("transaction is not open");
  // A record opened for the change this transaction makes commits with it.
  if (absl::Status written = OutboxEntry::WriteOpenEntry(db_); !written.ok()) {
    OutboxEntry::Committed(false);
    return written;
  }
  absl::Status status = db_.ExecCached("COMMIT");
  OutboxEntry::Committed(status.ok());
  if (status.ok()) open_ = false;
  return status;
}

absl::Status InTransaction(SqliteDb& db, absl::FunctionRef<absl::Status()> body) {
  SqliteTransaction transaction(db);
  if (!transaction.status().ok()) return transaction.status();
  if (absl::Status status = body(); !status.ok()) return status;
  return transaction.Commit();
}

}  // namespace trenode::storage
