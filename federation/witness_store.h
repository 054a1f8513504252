// WitnessStore: what this node keeps as a witness of its partners' logs
// (the largest checkpoint of each verified consistent, and the alarms it
// raised) and, as a log, the cosignatures its partners gave it. Kept in the
// node database (SqliteWitnessStore); thread-safe.
#ifndef TRENODE_FEDERATION_WITNESS_STORE_H_
#define TRENODE_FEDERATION_WITNESS_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/storage/sqlite_pool.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::federation {

// A partner's log as last verified: its record (without alarms) and the
// signed checkpoint it was verified from (the evidence for any later alarm),
// and the checks since a larger checkpoint was last proven in which the
// partner showed one larger and gave no proof that it extends this one.
struct Witnessed {
  trenode::v1::WitnessedLog log;
  std::string checkpoint;
  int unproven_checks = 0;
};

class WitnessStore {
 public:
  virtual ~WitnessStore() = default;
  virtual absl::StatusOr<std::optional<Witnessed>> Seen(const std::string& node_id) = 0;
  // Replaces what is kept of `witnessed.log.node_id()`.
  virtual absl::Status Save(const Witnessed& witnessed) = 0;
  // Keeps the first 100 alarms about a node; later ones are dropped (the
  // activity log still records each).
  virtual absl::Status Raise(const std::string& node_id, const trenode::v1::WitnessAlarm& alarm) = 0;
  // The kind of the last alarm about `node_id` while it runs ("" if none
  // since its last consistent check), and setting it ("" ends the run).
  virtual absl::StatusOr<std::string> AlarmRun(const std::string& node_id) = 0;
  virtual absl::Status SetAlarmRun(const std::string& node_id, const std::string& kind) = 0;
  // Every partner witnessed, by node id, each with its alarms (oldest first).
  virtual absl::StatusOr<std::vector<trenode::v1::WitnessedLog>> All() = 0;

  // The cosignature kept from `witness`, if any.
  virtual absl::StatusOr<std::optional<trenode::v1::CosignedCheckpoint>> CosignatureBy(
      const std::string& witness) = 0;
  // Replaces the one kept from `cosigned.witness()`.
  virtual absl::Status KeepCosignature(const trenode::v1::CosignedCheckpoint& cosigned) = 0;
  virtual absl::StatusOr<std::vector<trenode::v1::CosignedCheckpoint>> Cosignatures() = 0;
};

class SqliteWitnessStore : public WitnessStore {
 public:
  explicit SqliteWitnessStore(storage::SqlitePool* pool) : pool_(pool) {}
  absl::StatusOr<std::optional<Witnessed>> Seen(const std::string& node_id) override;
  absl::Status Save(const Witnessed& witnessed) override;
  absl::Status Raise(const std::string& node_id, const trenode::v1::WitnessAlarm& alarm) override;
  absl::StatusOr<std::string> AlarmRun(const std::string& node_id) override;
  absl::Status SetAlarmRun(const std::string& node_id, const std::string& kind) override;
  absl::StatusOr<std::vector<trenode::v1::WitnessedLog>> All() override;
  absl::StatusOr<std::optional<trenode::v1::CosignedCheckpoint>> CosignatureBy(
      const std::string& witness) override;
  absl::Status KeepCosignature(const trenode::v1::CosignedCheckpoint& cosigned) override;
  absl::StatusOr<std::vector<trenode::v1::CosignedCheckpoint>> Cosignatures() override;

 private:
  storage::SqlitePool* pool_;
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_WITNESS_STORE_H_
