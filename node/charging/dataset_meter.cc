#include "node/charging/dataset_meter.h"

#include <map>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/common/dates.h"

namespace trenode::charging {
namespace {

// Keeps the first error of several independent steps.
void Keep(absl::Status& first, absl::Status status) {
  if (first.ok() && !status.ok()) first = std::move(status);
}

// Ids are [a-z0-9-]: ':' separates them unambiguously.
constexpr char kPrefix[] = "dataset:";

std::string DatasetPart(const std::string& dataset_id) {
  return absl::StrCat(kPrefix, dataset_id, ":");
}

}  // namespace

std::string DatasetMeter::ObjectOf(const std::string& project_id, const std::string& dataset_id) {
  return absl::StrCat(DatasetPart(dataset_id), project_id);
}

absl::Status DatasetMeter::ProjectChanged(const trenode::v1::Project& project) {
  const absl::Time now = clock_();
  ASSIGN_OR_RETURN(std::vector<StorageInterval> live, ledger_->LiveOfKind(StoredKind::kDataset, now));
  std::map<std::string, StorageInterval> current;  // by object
  for (StorageInterval& interval : live) {
    if (interval.project_id == project.id()) current.emplace(interval.object, std::move(interval));
  }
  std::optional<absl::Time> until;
  if (project.approval().has_expires()) until = FromTimestamp(project.approval().expires());
  const bool may_use = project.state() == trenode::v1::PROJECT_STATE_APPROVED &&
                       (!until.has_value() || *until > now);
  absl::Status first;
  std::set<std::string> wanted;
  if (may_use) {
    for (const std::string& dataset_id : project.approval().dataset_ids()) {
      absl::StatusOr<int64_t> bytes = bytes_(dataset_id);
      if (absl::IsNotFound(bytes.status())) continue;  // retired or gone: nothing kept for it
      if (!bytes.ok()) {
        Keep(first, bytes.status());
        continue;
      }
      const std::string object = ObjectOf(project.id(), dataset_id);
      wanted.insert(object);
      auto found = current.find(object);
      if (found != current.end() && found->second.bytes == *bytes && found->second.to == until) {
        continue;
      }
      Keep(first, ledger_->Stored(project.id(), StoredKind::kDataset, object, *bytes, now, until));
    }
  }
  for (const auto& [object, interval] : current) {
    if (!wanted.contains(object)) Keep(first, ledger_->Removed(object, now));
  }
  return first;
}

absl::Status DatasetMeter::DatasetChanged(const std::string& dataset_id) {
  const absl::Time now = clock_();
  ASSIGN_OR_RETURN(std::vector<StorageInterval> live, ledger_->LiveOfKind(StoredKind::kDataset, now));
  const std::string part = DatasetPart(dataset_id);
  absl::StatusOr<int64_t> bytes;
  bool read = false;
  absl::Status first;
  for (const StorageInterval& interval : live) {
    if (!absl::StartsWith(interval.object, part)) continue;
    if (!read) {
      bytes = bytes_(dataset_id);
      read = true;
    }
    if (absl::IsNotFound(bytes.status())) {
      Keep(first, ledger_->Removed(interval.object, now));
    } else if (!bytes.ok()) {
      return bytes.status();
    } else if (*bytes != interval.bytes) {
      Keep(first, ledger_->Stored(interval.project_id, StoredKind::kDataset, interval.object,
                                  *bytes, now, interval.to));
    }
  }
  return first;
}

absl::Status DatasetMeter::Reconcile(const std::vector<trenode::v1::Project>& projects) {
  absl::Status first;
  for (const trenode::v1::Project& project : projects) Keep(first, ProjectChanged(project));
  return first;
}

}  // namespace trenode::charging
