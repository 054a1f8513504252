// The person table's keys in memory while an import loads its event tables:
// each key's 96-bit fingerprint (the first 12 bytes of its SHA-256) mapped to
// its person's rowid, in an open-addressing table of 16-byte slots, so that
// each event row's person is found without a search of the person key's
// index (at 10 million persons that index no longer fits the import's page
// cache, and each search reads pages). Holds at most kMaxSlots slots (256
// MiB; the import's memory stays bounded): past 7/8 of them, or if two keys
// share a fingerprint, or for a rowid past 2^32 - 2, it is given up and the
// import looks keys up in SQL.
//
// A key that is no person's (an error the import reports) is taken for a
// person's only if their fingerprints match: a chance of n / 2^96 (1e-22 at
// 10 million persons). Keys are the steward's own data, not an adversary's.
#ifndef TRENODE_NODE_INGEST_PERSON_KEY_MAP_H_
#define TRENODE_NODE_INGEST_PERSON_KEY_MAP_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "openssl/evp.h"

namespace trenode::ingest {

// Not thread-safe (even Find: it reuses one digest context).
class PersonKeyMap {
 public:
  static constexpr int64_t kMaxSlots = int64_t{16} << 20;

  explicit PersonKeyMap(int64_t max_slots = kMaxSlots);

  // Adds person `key` at `rowid`; if the map would need more than its slots,
  // a fingerprint repeats or the rowid is out of range, the map is given up
  // (usable() is false) and its memory freed.
  void Add(absl::string_view key, int64_t rowid);
  bool usable() const { return usable_; }

  // Where usable: the rowid of `key`, or nullopt if no person has it.
  std::optional<int64_t> Find(absl::string_view key) const;

 private:
  struct Slot {
    uint64_t position = 0;  // the fingerprint's first 8 bytes
    uint32_t check = 0;     // its next 4
    uint32_t rowid = 0;     // 0: empty
  };
  // A digest context fetched once and reused: four times faster than a
  // one-shot SHA256() per key.
  struct Digest {
    std::unique_ptr<EVP_MD, void (*)(EVP_MD*)> md{nullptr, EVP_MD_free};
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context{nullptr, EVP_MD_CTX_free};
  };
  Slot Fingerprint(absl::string_view key) const;
  // The slot holding `slot`'s fingerprint, or the empty one where it would go.
  size_t Probe(const std::vector<Slot>& slots, const Slot& slot) const;
  void GiveUp();

  mutable Digest digest_;
  int64_t max_slots_;
  bool usable_ = true;
  int64_t size_ = 0;
  std::vector<Slot> slots_;
};

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_PERSON_KEY_MAP_H_
