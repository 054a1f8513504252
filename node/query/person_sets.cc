#include "node/query/person_sets.h"

#include <algorithm>

namespace trenode::query {
namespace {

void PutVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool GetVarint(absl::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    uint8_t byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

std::string EncodePersons(const PersonSet& persons) {
  std::string out;
  out.reserve(persons.size() * 2 + 4);
  PutVarint(out, persons.size());
  uint64_t previous = 0;
  for (size_t i = 0; i < persons.size(); ++i) {
    PutVarint(out, i == 0 ? persons[i] : persons[i] - previous);
    previous = persons[i];
  }
  return out;
}

absl::StatusOr<int64_t> EncodedCount(absl::string_view bytes) {
  uint64_t count;
  if (!GetVarint(bytes, count)) return absl::DataLossError("a stored person set is truncated");
  return static_cast<int64_t>(count);
}

absl::StatusOr<PersonSet> DecodePersons(absl::string_view bytes) {
  uint64_t count;
  if (!GetVarint(bytes, count) || count > bytes.size()) {
    return absl::DataLossError("a stored person set is corrupt");
  }
  PersonSet persons;
  persons.reserve(count);
  uint64_t value = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t gap;
    if (!GetVarint(bytes, gap) || (i > 0 && gap == 0) || value + gap > UINT32_MAX) {
      return absl::DataLossError("a stored person set is corrupt");
    }
    value += gap;
    persons.push_back(static_cast<uint32_t>(value));
  }
  if (!bytes.empty()) return absl::DataLossError("a stored person set has trailing bytes");
  return persons;
}

int64_t SymmetricDifferenceBelow(const PersonSet& a, const PersonSet& b, int64_t limit) {
  int64_t size_gap = static_cast<int64_t>(a.size()) - static_cast<int64_t>(b.size());
  if (size_gap >= limit || -size_gap >= limit) return limit;
  int64_t difference = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) {
      ++i, ++j;
    } else if (a[i] < b[j]) {
      ++i, ++difference;
    } else {
      ++j, ++difference;
    }
    if (difference >= limit) return limit;
  }
  difference += static_cast<int64_t>(a.size() - i) + static_cast<int64_t>(b.size() - j);
  return std::min(difference, limit);
}

PersonSet Union(const std::vector<const PersonSet*>& sets) {
  PersonSet all;
  for (const PersonSet* set : sets) all.insert(all.end(), set->begin(), set->end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

}  // namespace trenode::query
