#include "node/charging/sqlite_storage_ledger.h"

#include "absl/strings/str_cat.h"
#include "node/charging/money.h"
#include "node/common/status_macros.h"

namespace trenode::charging {
namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// Ends `object`'s interval live at `at` (open, or ending later) at `at`,
// never before it began.
absl::Status Close(storage::SqliteDb& db, const std::string& object, absl::Time at) {
  ASSIGN_OR_RETURN(auto close,
                   db.PrepareCached("UPDATE storage_intervals SET to_micros = max(from_micros, ?)"
                                    " WHERE object = ? AND (to_micros IS NULL OR to_micros > ?)"));
  close.Bind(1, Micros(at)).Bind(2, object).Bind(3, Micros(at));
  return close.Run();
}

StorageInterval IntervalFrom(storage::SqliteStatement& row, std::string project_id) {
  StorageInterval interval;
  interval.project_id = std::move(project_id);
  interval.kind = static_cast<StoredKind>(row.Int64(0));
  interval.object = row.Text(1);
  interval.bytes = row.Int64(2);
  interval.from = absl::FromUnixMicros(row.Int64(3));
  if (!row.IsNull(4)) interval.to = absl::FromUnixMicros(row.Int64(4));
  return interval;
}

}  // namespace

absl::Status SqliteStorageLedger::Stored(const std::string& project_id, StoredKind kind,
                                         const std::string& object, int64_t bytes,
                                         absl::Time at, std::optional<absl::Time> until) {
  if (bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat("stored bytes of ", object, " are negative"));
  }
  if (until.has_value() && *until < at) {
    return absl::InvalidArgumentError(
        absl::StrCat("the interval of ", object, " would end before it begins"));
  }
  auto db = pool_->Acquire();
  return storage::InTransaction(*db, [&]() -> absl::Status {
    RETURN_IF_ERROR(Close(*db, object, at));
    ASSIGN_OR_RETURN(auto insert, db->PrepareCached(
                                      "INSERT INTO storage_intervals (project_id, kind, object,"
                                      " bytes, from_micros, to_micros) VALUES (?, ?, ?, ?, ?, ?)"));
    insert.Bind(1, project_id)
        .Bind(2, int64_t{static_cast<int>(kind)})
        .Bind(3, object)
        .Bind(4, bytes)
        .Bind(5, Micros(at));
    if (until.has_value()) {
      insert.Bind(6, Micros(*until));
    } else {
      insert.BindNull(6);
    }
    return insert.Run();
  });
}

absl::Status SqliteStorageLedger::Removed(const std::string& object, absl::Time at) {
  auto db = pool_->Acquire();
  return storage::InTransaction(*db, [&] { return Close(*db, object, at); });
}

absl::Status SqliteStorageLedger::Egress(const EgressRecord& record) {
  if (record.bytes < 0) return absl::InvalidArgumentError("egress bytes are negative");
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(auto insert,
                   db->PrepareCached("INSERT INTO egress (project_id, release_id, file, downloader,"
                                     " bytes, at_micros) VALUES (?, ?, ?, ?, ?, ?)"));
  insert.Bind(1, record.project_id)
      .Bind(2, record.release_id)
      .Bind(3, record.file)
      .Bind(4, record.downloader)
      .Bind(5, record.bytes)
      .Bind(6, Micros(record.at));
  return storage::InTransaction(*db, [&] { return insert.Run(); });
}

absl::StatusOr<std::vector<StorageInterval>> SqliteStorageLedger::IntervalsOf(
    const std::string& project_id, absl::Time from, absl::Time to) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(auto select,
                   db->PrepareCached("SELECT kind, object, bytes, from_micros, to_micros"
                                     " FROM storage_intervals WHERE project_id = ?"
                                     " AND from_micros < ? AND (to_micros IS NULL OR to_micros > ?)"
                                     " ORDER BY from_micros, id"));
  select.Bind(1, project_id).Bind(2, Micros(to)).Bind(3, Micros(from));
  std::vector<StorageInterval> intervals;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return intervals;
    intervals.push_back(IntervalFrom(select, project_id));
  }
}

absl::StatusOr<std::vector<StorageInterval>> SqliteStorageLedger::LiveOfKind(StoredKind kind,
                                                                             absl::Time at) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(auto select,
                   db->PrepareCached("SELECT kind, object, bytes, from_micros, to_micros,"
                                     " project_id FROM storage_intervals WHERE kind = ?"
                                     " AND from_micros <= ? AND (to_micros IS NULL OR to_micros > ?)"
                                     " ORDER BY project_id, object"));
  select.Bind(1, int64_t{static_cast<int>(kind)}).Bind(2, Micros(at)).Bind(3, Micros(at));
  std::vector<StorageInterval> intervals;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return intervals;
    intervals.push_back(IntervalFrom(select, select.Text(5)));
  }
}

absl::StatusOr<std::vector<EgressRecord>> SqliteStorageLedger::EgressOf(
    const std::string& project_id, absl::Time from, absl::Time to) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(auto select,
                   db->PrepareCached("SELECT release_id, file, downloader, bytes, at_micros"
                                     " FROM egress WHERE project_id = ? AND at_micros >= ?"
                                     " AND at_micros < ? ORDER BY at_micros, id"));
  select.Bind(1, project_id).Bind(2, Micros(from)).Bind(3, Micros(to));
  std::vector<EgressRecord> records;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return records;
    EgressRecord record;
    record.project_id = project_id;
    record.release_id = select.Text(0);
    record.file = select.Text(1);
    record.downloader = select.Text(2);
    record.bytes = select.Int64(3);
    record.at = absl::FromUnixMicros(select.Int64(4));
    records.push_back(std::move(record));
  }
}

absl::StatusOr<int64_t> SqliteStorageLedger::StoredNow(const std::string& project_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(auto select,
                   db->PrepareCached("SELECT bytes FROM storage_intervals WHERE project_id = ?"
                                     " AND to_micros IS NULL AND kind != ?"));
  select.Bind(1, project_id).Bind(2, int64_t{static_cast<int>(StoredKind::kDataset)});
  int64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return total;
    total = SaturatingAdd(total, select.Int64(0));
  }
}

}  // namespace trenode::charging
