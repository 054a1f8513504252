// DatasetMeter: what each project is charged for the datasets it is
// approved to use (spec/charging.md, "Approved datasets"). It keeps the
// storage ledger's "approved datasets" intervals equal to the governance
// record: one per project and dataset the project may use, of the
// dataset's current data file's bytes, from its approval (or its last
// change) until its expiry, a suspension, rejection or closure, or the
// dataset's retirement. Told of every change by Governance and the
// Catalogue, and of every project again when the node starts (Reconcile),
// so a change whose metering failed is caught up then.
#ifndef TRENODE_NODE_CHARGING_DATASET_METER_H_
#define TRENODE_NODE_CHARGING_DATASET_METER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/charging/storage_ledger.h"
#include "trenode/v1/governance.pb.h"

namespace trenode::charging {

class DatasetMeter {
 public:
  // The bytes of a dataset's current data file; NotFound for a dataset
  // that is unknown or retired (no project is charged for it).
  using DatasetBytes = std::function<absl::StatusOr<int64_t>(const std::string& dataset_id)>;
  using Clock = std::function<absl::Time()>;

  // `ledger` must outlive this object.
  DatasetMeter(StorageLedger* ledger, DatasetBytes bytes, Clock clock = &absl::Now)
      : ledger_(ledger), bytes_(std::move(bytes)), clock_(std::move(clock)) {}

  // After `project`'s state or approval changed: from now on, each dataset
  // it may use (approved and not expired) has a live interval of its
  // current bytes ending at the approval's expiry, and each other dataset
  // interval of the project has ended. An interval already as it should be
  // is kept. Meters every dataset it can; the first error, if any.
  absl::Status ProjectChanged(const trenode::v1::Project& project);
  // After `dataset_id` got a new version or was retired: each project's
  // live interval of it restarts now at the new bytes (ends, if retired).
  absl::Status DatasetChanged(const std::string& dataset_id);
  // ProjectChanged for each of `projects` (at start-up).
  absl::Status Reconcile(const std::vector<trenode::v1::Project>& projects);

  // The ledger's object for `project_id`'s use of `dataset_id`: one per
  // pair, as one dataset file serves every project approved for it.
  static std::string ObjectOf(const std::string& project_id, const std::string& dataset_id);

 private:
  StorageLedger* ledger_;
  DatasetBytes bytes_;
  Clock clock_;
};

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_DATASET_METER_H_
