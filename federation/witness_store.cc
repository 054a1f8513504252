#include "federation/witness_store.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::federation {
namespace {
using storage::SqliteStatement;
constexpr int64_t kMaxAlarmsPerNode = 100;

template <typename Message>
absl::StatusOr<Message> Decoded(const std::string& bytes, absl::string_view what) {
  Message message;
  if (!message.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("a stored ", what, " does not parse"));
  }
  return message;
}
}  // namespace

absl::StatusOr<std::optional<Witnessed>> SqliteWitnessStore::Seen(const std::string& node_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT record, checkpoint, unproven_checks "
                                     "FROM witnessed_logs WHERE node_id = ?"));
  select.Bind(1, node_id);
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return std::nullopt;
  ASSIGN_OR_RETURN(trenode::v1::WitnessedLog log,
                   Decoded<trenode::v1::WitnessedLog>(select.Blob(0), "witnessed log"));
  return Witnessed{std::move(log), select.Text(1), static_cast<int>(select.Int64(2))};
}

absl::Status SqliteWitnessStore::Save(const Witnessed& witnessed) {
  trenode::v1::WitnessedLog record = witnessed.log;
  record.clear_alarms();
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement upsert,
                   db->PrepareCached("INSERT INTO witnessed_logs(node_id, record, checkpoint, "
                                     "unproven_checks) VALUES (?, ?, ?, ?) ON CONFLICT(node_id) "
                                     "DO UPDATE SET record = excluded.record, checkpoint = "
                                     "excluded.checkpoint, unproven_checks = "
                                     "excluded.unproven_checks"));
  upsert.Bind(1, record.node_id())
      .BindBlob(2, record.SerializeAsString())
      .Bind(3, witnessed.checkpoint)
      .Bind(4, int64_t{witnessed.unproven_checks});
  return upsert.Run();
}

absl::Status SqliteWitnessStore::Raise(const std::string& node_id,
                                       const trenode::v1::WitnessAlarm& alarm) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement count,
                   db->PrepareCached("SELECT COUNT(*) FROM witness_alarms WHERE node_id = ?"));
  count.Bind(1, node_id);
  ASSIGN_OR_RETURN(bool row, count.Step());
  if (row && count.Int64(0) >= kMaxAlarmsPerNode) return absl::OkStatus();
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db->PrepareCached("INSERT INTO witness_alarms(node_id, alarm) VALUES (?, ?)"));
  insert.Bind(1, node_id).BindBlob(2, alarm.SerializeAsString());
  return insert.Run();
}

absl::StatusOr<std::string> SqliteWitnessStore::AlarmRun(const std::string& node_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT kind FROM witness_alarm_runs WHERE node_id = ?"));
  select.Bind(1, node_id);
  ASSIGN_OR_RETURN(bool row, select.Step());
  return row ? select.Text(0) : std::string();
}

absl::Status SqliteWitnessStore::SetAlarmRun(const std::string& node_id,
                                             const std::string& kind) {
  auto db = pool_->Acquire();
  if (kind.empty()) {
    ASSIGN_OR_RETURN(SqliteStatement remove,
                     db->PrepareCached("DELETE FROM witness_alarm_runs WHERE node_id = ?"));
    remove.Bind(1, node_id);
    return remove.Run();
  }
  ASSIGN_OR_RETURN(SqliteStatement upsert,
                   db->PrepareCached("INSERT INTO witness_alarm_runs(node_id, kind) VALUES (?, ?) "
                                     "ON CONFLICT(node_id) DO UPDATE SET kind = excluded.kind"));
  upsert.Bind(1, node_id).Bind(2, kind);
  return upsert.Run();
}

absl::StatusOr<std::vector<trenode::v1::WitnessedLog>> SqliteWitnessStore::All() {
  auto db = pool_->Acquire();
  std::map<std::string, trenode::v1::WitnessedLog> logs;
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT node_id, record FROM witnessed_logs"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(logs[select.Text(0)],
                     Decoded<trenode::v1::WitnessedLog>(select.Blob(1), "witnessed log"));
  }
  ASSIGN_OR_RETURN(SqliteStatement alarms,
                   db->PrepareCached("SELECT node_id, alarm FROM witness_alarms ORDER BY id"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, alarms.Step());
    if (!row) break;
    trenode::v1::WitnessedLog& log = logs[alarms.Text(0)];
    log.set_node_id(alarms.Text(0));
    ASSIGN_OR_RETURN(*log.add_alarms(),
                     Decoded<trenode::v1::WitnessAlarm>(alarms.Blob(1), "witness alarm"));
  }
  std::vector<trenode::v1::WitnessedLog> all;
  for (auto& [node, log] : logs) all.push_back(std::move(log));
  return all;
}

absl::StatusOr<std::optional<trenode::v1::CosignedCheckpoint>> SqliteWitnessStore::CosignatureBy(
    const std::string& witness) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT cosigned FROM cosignatures WHERE witness = ?"));
  select.Bind(1, witness);
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return std::nullopt;
  return Decoded<trenode::v1::CosignedCheckpoint>(select.Blob(0), "cosignature");
}

absl::Status SqliteWitnessStore::KeepCosignature(const trenode::v1::CosignedCheckpoint& cosigned) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement upsert,
                   db->PrepareCached("INSERT INTO cosignatures(witness, cosigned) VALUES (?, ?) "
                                     "ON CONFLICT(witness) DO UPDATE SET cosigned = "
                                     "excluded.cosigned"));
  upsert.Bind(1, cosigned.witness()).BindBlob(2, cosigned.SerializeAsString());
  return upsert.Run();
}

absl::StatusOr<std::vector<trenode::v1::CosignedCheckpoint>> SqliteWitnessStore::Cosignatures() {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT cosigned FROM cosignatures ORDER BY witness"));
  std::vector<trenode::v1::CosignedCheckpoint> all;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(all.emplace_back(),
                     Decoded<trenode::v1::CosignedCheckpoint>(select.Blob(0), "cosignature"));
  }
  return all;
}

}  // namespace trenode::federation
