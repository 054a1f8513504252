// The person table's keys in memory while an import loads its event tables:
// each key's 128-bit fingerprint (the first half of its SHA-256) mapped to
// its person's rowid, so that each event row's person is found without a
// search of the person key's index. Holds at most a fixed number of persons
// (the import's memory stays bounded); past it, or if two keys share a
// fingerprint, it is not used and the import looks keys up in SQL.
//
// Two distinct keys sharing a 128-bit fingerprint is a chance of about
// n^2 / 2^129 (1e-26 for 10 million keys): such a key would be taken for the
// other's person. Keys are the steward's own data, not an adversary's.
#ifndef TRENODE_NODE_INGEST_PERSON_KEY_MAP_H_
#define TRENODE_NODE_INGEST_PERSON_KEY_MAP_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"
#include "openssl/evp.h"

namespace trenode::ingest {

// Not thread-safe (even Find: it reuses one digest context).
class PersonKeyMap {
 public:
  // About 32 bytes a person: 128 MiB at most.
  static constexpr int64_t kMaxPersons = int64_t{4} << 20;

  explicit PersonKeyMap(int64_t max_persons = kMaxPersons);

  // Adds person `key` at `rowid`; once more than max_persons are added, or a
  // fingerprint repeats, the map is given up (usable() is false).
  void Add(absl::string_view key, int64_t rowid);
  bool usable() const { return usable_; }

  // Where usable: the rowid of `key`, or nullopt if no person has it.
  std::optional<int64_t> Find(absl::string_view key) const {
    auto found = rowids_.find(Fingerprint(key));
    if (found == rowids_.end()) return std::nullopt;
    return found->second;
  }

 private:
  // A digest context fetched once and reused: four times faster than a
  // one-shot SHA256() per key.
  struct Digest {
    std::unique_ptr<EVP_MD, void (*)(EVP_MD*)> md{nullptr, EVP_MD_free};
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context{nullptr, EVP_MD_CTX_free};
  };
  absl::uint128 Fingerprint(absl::string_view key) const;

  mutable Digest digest_;
  int64_t max_persons_;
  bool usable_ = true;
  absl::flat_hash_map<absl::uint128, int64_t> rowids_;
};

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_PERSON_KEY_MAP_H_
