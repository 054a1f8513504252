#include "node/query/person_codes.h"

#include <array>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "openssl/rand.h"

namespace trenode::query {
namespace {

// Record keys from the system's random source, drawn a block at a time:
// one RAND_bytes call per key was a quarter of numbering a new dataset.
class RandomKeys {
 public:
  absl::StatusOr<uint32_t> Next() {
    if (next_ == keys_.size()) {
      if (RAND_bytes(reinterpret_cast<unsigned char*>(keys_.data()),
                     static_cast<int>(keys_.size() * sizeof(uint32_t))) != 1) {
        return absl::InternalError("the system's random source failed");
      }
      next_ = 0;
    }
    return keys_[next_++];
  }

 private:
  std::array<uint32_t, 1024> keys_{};
  size_t next_ = keys_.size();
};

std::string Quote(absl::string_view name) { return absl::StrCat("\"", name, "\""); }

}  // namespace

PersonCodes PersonCodes::Sequential(int64_t rows, uint32_t (*key)(int64_t)) {
  std::vector<std::optional<PersonCode>> codes(rows + 1);
  for (int64_t r = 1; r <= rows; ++r) {
    codes[r] = PersonCode{static_cast<uint32_t>(r), key ? key(r) : 0};
  }
  return PersonCodes(std::move(codes));
}

absl::StatusOr<std::vector<PersonCode>> MemoryPersonRegistry::Codes(
    const std::string& dataset_id, const std::vector<std::string>& keys) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, PersonCode>& known = datasets_[dataset_id];
  std::vector<PersonCode> codes;
  RandomKeys random;
  for (const std::string& key : keys) {
    auto found = known.find(key);
    if (found == known.end()) {
      ASSIGN_OR_RETURN(uint32_t record_key, random.Next());
      found = known.emplace(key, PersonCode{static_cast<uint32_t>(known.size() + 1), record_key})
                  .first;
    }
    codes.push_back(found->second);
  }
  return codes;
}

absl::StatusOr<std::vector<PersonCode>> SqlitePersonRegistry::Codes(
    const std::string& dataset_id, const std::vector<std::string>& keys) {
  absl::MutexLock lock(&mu_);
  storage::SqlitePool::Lease db = pool_->Acquire();
  std::unordered_map<std::string, PersonCode> known;
  uint32_t last = 0;
  {
    ASSIGN_OR_RETURN(storage::SqliteStatement select,
                     db->Prepare("SELECT person_key, ordinal, record_key FROM person_registry "
                                 "WHERE dataset_id = ?"));
    select.Bind(1, dataset_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      PersonCode code{static_cast<uint32_t>(select.Int64(1)),
                      static_cast<uint32_t>(select.Int64(2))};
      last = std::max(last, code.ordinal);
      known.emplace(select.Text(0), code);
    }
  }
  std::vector<PersonCode> codes;
  codes.reserve(keys.size());
  RandomKeys random;
  storage::SqliteTransaction transaction(*db);
  RETURN_IF_ERROR(transaction.status());
  ASSIGN_OR_RETURN(storage::SqliteStatement insert,
                   db->Prepare("INSERT INTO person_registry(dataset_id, person_key, ordinal, "
                               "record_key) VALUES (?, ?, ?, ?)"));
  for (const std::string& key : keys) {
    auto found = known.find(key);
    if (found == known.end()) {
      if (last == UINT32_MAX) {
        return absl::ResourceExhaustedError(
            absl::StrCat("dataset ", dataset_id, " has more persons than the node can number"));
      }
      ASSIGN_OR_RETURN(uint32_t record_key, random.Next());
      PersonCode code{++last, record_key};
      insert.Bind(1, dataset_id)
          .Bind(2, absl::string_view(key))
          .Bind(3, static_cast<int64_t>(code.ordinal))
          .Bind(4, static_cast<int64_t>(code.record_key));
      RETURN_IF_ERROR(insert.Run());
      insert.Reset();
      found = known.emplace(key, code).first;
    }
    codes.push_back(found->second);
  }
  RETURN_IF_ERROR(transaction.Commit());
  return codes;
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> ReadPersonKeys(
    const trenode::v1::Dataset& dataset, const std::string& path) {
  std::string person_table = dataset.person_table().empty() ? "person" : dataset.person_table();
  std::string key_column;
  for (const trenode::v1::Table& table : dataset.tables()) {
    if (table.name() != person_table) continue;
    for (const trenode::v1::Column& column : table.columns()) {
      if (column.is_person_key()) key_column = column.name();
    }
  }
  if (key_column.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dataset ", dataset.id(), " has no person table with a person key"));
  }
  ASSIGN_OR_RETURN(auto db, storage::SqliteDb::Open(path, storage::SqliteDb::Mode::kReadOnly));
  ASSIGN_OR_RETURN(storage::SqliteStatement select,
                   db->Prepare(absl::StrCat("SELECT rowid, ", Quote(key_column), " FROM ",
                                            Quote(person_table), " ORDER BY rowid")));
  std::vector<std::pair<int64_t, std::string>> keys;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    keys.emplace_back(select.Int64(0), select.Text(1));
  }
  return keys;
}

absl::StatusOr<std::shared_ptr<const PersonCodes>> PersonCodesCache::For(
    const trenode::v1::Dataset& dataset, const std::string& path) {
  std::string name = absl::StrCat(dataset.id(), "@", dataset.version(), "@", path);
  absl::MutexLock lock(&mu_);
  for (auto it = recent_.begin(); it != recent_.end(); ++it) {
    if (it->first != name) continue;
    recent_.splice(recent_.begin(), recent_, it);
    return it->second;
  }
  ASSIGN_OR_RETURN(auto rows, ReadPersonKeys(dataset, path));
  std::vector<std::string> keys;
  keys.reserve(rows.size());
  int64_t max_rowid = 0;
  for (const auto& [rowid, key] : rows) {
    keys.push_back(key);
    max_rowid = std::max(max_rowid, rowid);
  }
  ASSIGN_OR_RETURN(std::vector<PersonCode> codes, registry_->Codes(dataset.id(), keys));
  std::vector<std::optional<PersonCode>> by_rowid(max_rowid + 1);
  for (size_t i = 0; i < rows.size(); ++i) by_rowid[rows[i].first] = codes[i];
  ASSIGN_OR_RETURN(PersonColumns columns, PersonColumns::Read(dataset, path));
  auto built = std::make_shared<const PersonCodes>(std::move(by_rowid), std::move(columns));
  recent_.emplace_front(name, built);
  if (recent_.size() > capacity_) recent_.pop_back();
  return built;
}

}  // namespace trenode::query
