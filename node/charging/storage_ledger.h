// StorageLedger: what each project keeps stored at this node over time and
// what it took out (spec/charging.md, "Storage and egress"): one interval
// (bytes, from, to) per stored object, opened when the node writes it and
// closed when it deletes it, and one record per download of a released
// file with the bytes actually sent. A month's storage is the integral of
// bytes over the month's time (byte-seconds), its egress the sum of bytes
// sent: both exact, and read per project from an index, never by scanning
// objects. SqliteStorageLedger keeps them in the node's database.
// Implementations are thread-safe.
#ifndef TRENODE_NODE_CHARGING_STORAGE_LEDGER_H_
#define TRENODE_NODE_CHARGING_STORAGE_LEDGER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trenode::charging {

// What a stored object is; the values are kept in the database.
enum class StoredKind {
  kOutput = 1,        // a script job's declared output, kept for release
  kReviewCopy = 2,    // a release's file as its checkers review it
  kReleasedCopy = 3,  // a released file in the egress area
  kDataset = 4,       // a dataset the project is approved to use (DatasetMeter)
};
// "outputs", "review copies", "released copies", "approved datasets".
const char* StoredKindName(StoredKind kind);

struct StorageInterval {
  std::string project_id;
  StoredKind kind = StoredKind::kOutput;
  std::string object;  // its object-store key
  int64_t bytes = 0;
  absl::Time from;
  std::optional<absl::Time> to;  // nullopt: still stored; may be in the future
};

struct EgressRecord {
  std::string project_id;
  std::string release_id;
  std::string file;
  std::string downloader;  // subject@node
  int64_t bytes = 0;       // bytes actually sent
  absl::Time at;
};

class StorageLedger {
 public:
  virtual ~StorageLedger() = default;
  // `object` of `project_id` holds `bytes` from `at` on, until `until` if
  // given (an end known in advance, such as an approval's expiry). An
  // object already live at `at` (an interval not ended by then) is ended
  // at `at` first, so rewriting an object never counts it twice.
  // InvalidArgument for negative bytes or an `until` before `at`.
  virtual absl::Status Stored(const std::string& project_id, StoredKind kind,
                              const std::string& object, int64_t bytes, absl::Time at,
                              std::optional<absl::Time> until = std::nullopt) = 0;
  // `object` is gone from `at`: its live interval is ended then (never
  // before it began). OK if it has none (never recorded, or removed).
  virtual absl::Status Removed(const std::string& object, absl::Time at) = 0;
  // Records one download. InvalidArgument for negative bytes.
  virtual absl::Status Egress(const EgressRecord& record) = 0;

  // The project's intervals that overlap [from, to), oldest first.
  virtual absl::StatusOr<std::vector<StorageInterval>> IntervalsOf(const std::string& project_id,
                                                                   absl::Time from,
                                                                   absl::Time to) = 0;
  // The project's downloads in [from, to), oldest first.
  virtual absl::StatusOr<std::vector<EgressRecord>> EgressOf(const std::string& project_id,
                                                            absl::Time from, absl::Time to) = 0;
  // Every project's intervals of `kind` live at `at` (not ended by then).
  virtual absl::StatusOr<std::vector<StorageInterval>> LiveOfKind(StoredKind kind,
                                                                  absl::Time at) = 0;
  // The bytes the project keeps now (its open intervals), saturating;
  // approved datasets are the node's copies, not counted.
  virtual absl::StatusOr<int64_t> StoredNow(const std::string& project_id) = 0;
};

// The byte-microseconds of `intervals` of `kind` within [from, to), an
// interval still open counting until `now` (and not past it): exact,
// saturating at 2^86 (a PiB for two years).
__int128 ByteMicrosIn(const std::vector<StorageInterval>& intervals, StoredKind kind,
                       absl::Time from, absl::Time to, absl::Time now);

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_STORAGE_LEDGER_H_
