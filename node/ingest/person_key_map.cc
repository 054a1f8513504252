#include "node/ingest/person_key_map.h"

#include <cstdlib>
#include <cstring>

namespace trenode::ingest {

PersonKeyMap::PersonKeyMap(int64_t max_slots) : max_slots_(max_slots) {
  digest_.md.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  digest_.context.reset(EVP_MD_CTX_new());
  // Without a digest (no provider) keys are looked up in SQL instead.
  usable_ = digest_.md != nullptr && digest_.context != nullptr;
}

PersonKeyMap::Slot PersonKeyMap::Fingerprint(absl::string_view key) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* context = digest_.context.get();
  if (EVP_DigestInit_ex(context, digest_.md.get(), nullptr) != 1 ||
      EVP_DigestUpdate(context, key.data(), key.size()) != 1 ||
      EVP_DigestFinal_ex(context, digest, &size) != 1 || size < 12) {
    std::abort();  // SHA-256 of bytes in memory cannot fail once fetched
  }
  Slot slot;
  std::memcpy(&slot.position, digest, sizeof slot.position);
  std::memcpy(&slot.check, digest + sizeof slot.position, sizeof slot.check);
  return slot;
}

size_t PersonKeyMap::Probe(const std::vector<Slot>& slots, const Slot& slot) const {
  const size_t mask = slots.size() - 1;
  for (size_t at = slot.position & mask;; at = (at + 1) & mask) {
    const Slot& there = slots[at];
    if (there.rowid == 0 || (there.position == slot.position && there.check == slot.check)) {
      return at;
    }
  }
}

void PersonKeyMap::GiveUp() {
  usable_ = false;
  slots_ = {};
}

void PersonKeyMap::Add(absl::string_view key, int64_t rowid) {
  if (!usable_) return;
  if (rowid <= 0 || rowid >= int64_t{UINT32_MAX}) return GiveUp();
  // At most 7/8 full: the probes stay short.
  if ((size_ + 1) * 8 > static_cast<int64_t>(slots_.size()) * 7) {
    const int64_t grown =
        slots_.empty() ? int64_t{1} << 16 : static_cast<int64_t>(slots_.size()) * 2;
    if (grown > max_slots_) return GiveUp();
    std::vector<Slot> bigger(static_cast<size_t>(grown));
    for (const Slot& slot : slots_) {
      if (slot.rowid != 0) bigger[Probe(bigger, slot)] = slot;
    }
    slots_ = std::move(bigger);
  }
  Slot slot = Fingerprint(key);
  slot.rowid = static_cast<uint32_t>(rowid);
  Slot& there = slots_[Probe(slots_, slot)];
  if (there.rowid != 0) return GiveUp();  // the same fingerprint twice
  there = slot;
  ++size_;
}

std::optional<int64_t> PersonKeyMap::Find(absl::string_view key) const {
  if (slots_.empty()) return std::nullopt;
  const Slot& there = slots_[Probe(slots_, Fingerprint(key))];
  if (there.rowid == 0) return std::nullopt;
  return int64_t{there.rowid};
}

}  // namespace trenode::ingest
