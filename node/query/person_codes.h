// Persons as disclosure control needs them, never as identifiers: each
// person of a dataset has a stable ordinal (the same in every version of the
// dataset, for the overlap audit's person sets) and a secret random record
// key (for cell-key perturbation), both kept by the node, outside the
// dataset file that script jobs can read (spec/disclosure.md).
#ifndef TRENODE_NODE_QUERY_PERSON_CODES_H_
#define TRENODE_NODE_QUERY_PERSON_CODES_H_

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/query/person_columns.h"
#include "node/storage/sqlite_pool.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::query {

struct PersonCode {
  uint32_t ordinal = 0;
  uint32_t record_key = 0;  // a cell key is the sum of its persons' keys mod 2^32
};

// The codes of one dataset version's person rows, by SQLite rowid, and the
// values of its few-valued person columns read with them (none for codes
// made otherwise: queries then read every value from the file).
// Immutable; thread-safe.
class PersonCodes {
 public:
  explicit PersonCodes(std::vector<std::optional<PersonCode>> by_rowid,
                       PersonColumns columns = {})
      : by_rowid_(std::move(by_rowid)), columns_(std::move(columns)) {}
  // Rowid r has ordinal r and record key `key(r)`: for tests.
  static PersonCodes Sequential(int64_t rows, uint32_t (*key)(int64_t) = nullptr);
  std::optional<PersonCode> Find(int64_t rowid) const {
    if (rowid < 0 || rowid >= static_cast<int64_t>(by_rowid_.size())) return std::nullopt;
    return by_rowid_[rowid];
  }
  // One past the largest rowid with a code.
  int64_t rowid_end() const { return static_cast<int64_t>(by_rowid_.size()); }
  const PersonColumns& columns() const { return columns_; }

 private:
  std::vector<std::optional<PersonCode>> by_rowid_;
  PersonColumns columns_;
};

// Where the node keeps every person's code, per dataset. Implementations are
// thread-safe.
class PersonRegistry {
 public:
  virtual ~PersonRegistry() = default;
  // The codes of `keys` (person keys of dataset `dataset_id`), in order;
  // persons seen for the first time get the next ordinals and fresh random
  // record keys, kept before this returns.
  virtual absl::StatusOr<std::vector<PersonCode>> Codes(const std::string& dataset_id,
                                                        const std::vector<std::string>& keys) = 0;
};

// The registry in memory, for tests.
class MemoryPersonRegistry : public PersonRegistry {
 public:
  absl::StatusOr<std::vector<PersonCode>> Codes(const std::string& dataset_id,
                                                const std::vector<std::string>& keys) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, std::map<std::string, PersonCode>> datasets_ ABSL_GUARDED_BY(mu_);
};

// The registry in the node's database (table person_registry).
class SqlitePersonRegistry : public PersonRegistry {
 public:
  explicit SqlitePersonRegistry(storage::SqlitePool* pool) : pool_(pool) {}
  absl::StatusOr<std::vector<PersonCode>> Codes(const std::string& dataset_id,
                                                const std::vector<std::string>& keys) override;

 private:
  storage::SqlitePool* pool_;
  absl::Mutex mu_;  // one assignment of new ordinals at a time
};

// Reads a dataset file's person keys in rowid order. InvalidArgument if the
// dataset has no person table with a person key.
absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> ReadPersonKeys(
    const trenode::v1::Dataset& dataset, const std::string& path);

// PersonCodes of dataset versions, built from their files and the registry
// on first use (with their person columns, node/query/person_columns.h) and
// kept for the last few versions used. Thread-safe.
class PersonCodesCache {
 public:
  explicit PersonCodesCache(PersonRegistry* registry, size_t capacity = 4)
      : registry_(registry), capacity_(capacity) {}
  absl::StatusOr<std::shared_ptr<const PersonCodes>> For(const trenode::v1::Dataset& dataset,
                                                         const std::string& path);

 private:
  PersonRegistry* registry_;
  size_t capacity_;
  absl::Mutex mu_;  // held while building, so a version is built once
  std::list<std::pair<std::string, std::shared_ptr<const PersonCodes>>> recent_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_PERSON_CODES_H_
