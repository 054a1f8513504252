// LedgerStore: the overlap ledger (spec/disclosure.md, "Overlap audit"): for
// every aggregate cell a release would publish, the exact set of persons
// behind it, per dataset (whichever project released it). Cells are recorded
// when a release is created; they count against later releases once the
// release is submitted (waiting for review) or its file has left the TRE,
// and no longer once the release is withdrawn or rejected. Implementations
// are thread-safe.
#ifndef TRENODE_NODE_RELEASES_LEDGER_STORE_H_
#define TRENODE_NODE_RELEASES_LEDGER_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/query/person_sets.h"
#include "node/storage/sqlite_pool.h"

namespace trenode::releases {

// What kind of output a cell was published in: the overlap audit compares
// linked counts only with other releases' cells (one release's counts are
// protected jointly by the suppression audit).
enum class LedgerKind { kCount = 0, kSummary = 1, kRegression = 2 };

struct LedgerCell {
  int64_t id = 0;  // set by the store
  std::string release_id;
  std::string file;
  std::string cell;  // its labels, e.g. "South West / F", or "Total"
  LedgerKind kind = LedgerKind::kCount;
  bool perturbed = false;  // published with cell-key noise
  query::PersonSet persons;
  // PersonsDigest(persons) and SketchOf(persons) as recorded, when read from
  // the store (OfRelease); empty when the cell was not read back.
  std::string digest = {};
  std::optional<query::Sketch> sketch = {};
};

// SHA-256 of the set's ordinals (32-bit little-endian words, in order):
// equal exactly when the sets are equal.
std::string PersonsDigest(const query::PersonSet& persons);

// One recorded cell without its persons: what the audit scans.
struct LedgerEntry {
  int64_t id = 0;
  std::string release_id, file, cell;
  LedgerKind kind = LedgerKind::kCount;
  int64_t size = 0;
  bool perturbed = false;
  query::Sketch sketch{};
  bool sketch_ok = false;
  // PersonsDigest of its persons; empty for a cell recorded before digests
  // were kept.
  std::string digest;
};

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;
  // Records the cells each release named in `cells` would publish (not yet
  // released), replacing what was recorded for those releases before.
  virtual absl::Status Record(const std::string& project_id, const std::string& dataset_id,
                              const std::vector<LedgerCell>& cells) = 0;
  // Every cell of the dataset that is released or waiting for review, from
  // releases other than `except`, without their persons, by size; of cells
  // with the same persons (digest) only the first recorded, so that a
  // question asked again and again is compared once, however often it was
  // released.
  virtual absl::StatusOr<std::vector<LedgerEntry>> Standing(const std::string& dataset_id,
                                                            const std::string& except) = 0;
  // Every cell recorded for the release, with its persons, digest and sketch.
  // DataLoss if a cell's persons are missing or do not decode.
  virtual absl::StatusOr<std::vector<LedgerCell>> OfRelease(const std::string& release_id) = 0;
  // The persons of a recorded cell. NotFound.
  virtual absl::StatusOr<query::PersonSet> Persons(int64_t id) = 0;
  // The release was submitted: its cells count against others from now on.
  virtual absl::Status MarkSubmitted(const std::string& release_id) = 0;
  // The cells of `files` left the TRE; the release's other cells are closed.
  virtual absl::Status MarkReleased(const std::string& release_id,
                                    const std::set<std::string>& files) = 0;
  // The release was withdrawn or rejected: its cells no longer count.
  virtual absl::Status MarkClosed(const std::string& release_id) = 0;
};

// The ledger in the node's database: each cell in table release_ledger,
// its persons apart in release_ledger_persons, so that a change of status
// rewrites a small row and not the set.
class SqliteLedgerStore : public LedgerStore {
 public:
  explicit SqliteLedgerStore(storage::SqlitePool* pool) : pool_(pool) {}
  absl::Status Record(const std::string& project_id, const std::string& dataset_id,
                      const std::vector<LedgerCell>& cells) override;
  absl::StatusOr<std::vector<LedgerEntry>> Standing(const std::string& dataset_id,
                                                    const std::string& except) override;
  absl::StatusOr<std::vector<LedgerCell>> OfRelease(const std::string& release_id) override;
  absl::StatusOr<query::PersonSet> Persons(int64_t id) override;
  absl::Status MarkSubmitted(const std::string& release_id) override;
  absl::Status MarkReleased(const std::string& release_id,
                            const std::set<std::string>& files) override;
  absl::Status MarkClosed(const std::string& release_id) override;

 private:
  absl::Status SetStatus(const std::string& release_id, int status,
                         const std::string& where = "");
  storage::SqlitePool* pool_;
};

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_LEDGER_STORE_H_
