#include "node/query/person_sets.h"

#include <algorithm>
#include <bit>
#include <iterator>

namespace trenode::query {
namespace {

// LEB128: 7 bits a byte, low first, the high bit set on all but the last.
size_t VarintSize(uint64_t value) {
  return 1 + static_cast<size_t>(std::bit_width(value | 1) - 1) / 7;
}

char* PutVarint(char* out, uint64_t value) {
  while (value >= 0x80) {
    *out++ = static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<char>(value);
  return out;
}

// Reads one varint from [at, end), advancing `at`; false if it is cut short
// or longer than 64 bits.
bool GetVarint(const uint8_t*& at, const uint8_t* end, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (at == end) return false;
    const uint8_t byte = *at++;
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool GetVarint(absl::string_view& in, uint64_t& value) {
  const auto* at = reinterpret_cast<const uint8_t*>(in.data());
  const bool read = GetVarint(at, at + in.size(), value);
  in.remove_prefix(static_cast<size_t>(at - reinterpret_cast<const uint8_t*>(in.data())));
  return read;
}

}  // namespace

std::string EncodePersons(const PersonSet& persons) {
  // Sized exactly first, then written through a pointer: one allocation.
  size_t size = VarintSize(persons.size());
  uint32_t previous = 0;
  for (uint32_t person : persons) {
    size += VarintSize(person - previous);
    previous = person;
  }
  std::string out(size, '\0');
  char* at = PutVarint(out.data(), persons.size());
  previous = 0;
  for (uint32_t person : persons) {
    at = PutVarint(at, person - previous);
    previous = person;
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
  PersonSet persons(count);
  const auto* at = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint8_t* const end = at + bytes.size();
  uint64_t value = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t gap;
    if (!GetVarint(at, end, gap) || (i > 0 && gap == 0) || gap > UINT32_MAX - value) {
      return absl::DataLossError("a stored person set is corrupt");
    }
    value += gap;
    persons[i] = static_cast<uint32_t>(value);
  }
  if (at != end) return absl::DataLossError("a stored person set has trailing bytes");
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

namespace {
PersonSet Merged(const PersonSet& a, const PersonSet& b) {
  PersonSet merged;
  merged.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(merged));
  return merged;
}
}  // namespace

PersonSet Union(const std::vector<const PersonSet*>& sets) {
  // Merged in pairs, level by level: O(n log k) for k sets of n persons in
  // all, where sorting them together was O(n log n).
  if (sets.empty()) return {};
  std::vector<PersonSet> level;
  for (size_t i = 0; i < sets.size(); i += 2) {
    level.push_back(i + 1 < sets.size() ? Merged(*sets[i], *sets[i + 1]) : *sets[i]);
  }
  while (level.size() > 1) {
    std::vector<PersonSet> next;
    for (size_t i = 0; i < level.size(); i += 2) {
      next.push_back(i + 1 < level.size() ? Merged(level[i], level[i + 1]) : std::move(level[i]));
    }
    level = std::move(next);
  }
  return std::move(level.front());
}

Sketch SketchOf(const PersonSet& persons) {
  Sketch sketch{};
  for (uint32_t person : persons) {
    uint16_t& bucket = sketch[(person * 2654435761u) >> 26];
    if (bucket < UINT16_MAX) ++bucket;
  }
  return sketch;
}

std::string EncodeSketch(const Sketch& sketch) {
  std::string bytes;
  for (uint16_t count : sketch) {
    bytes.push_back(static_cast<char>(count & 0xFF));
    bytes.push_back(static_cast<char>(count >> 8));
  }
  return bytes;
}

absl::StatusOr<Sketch> DecodeSketch(absl::string_view bytes) {
  if (bytes.size() != 2 * kSketchBuckets) return absl::DataLossError("a stored sketch is corrupt");
  Sketch sketch{};
  for (int i = 0; i < kSketchBuckets; ++i) {
    sketch[i] = static_cast<uint16_t>(static_cast<uint8_t>(bytes[2 * i]) |
                                      (static_cast<uint8_t>(bytes[2 * i + 1]) << 8));
  }
  return sketch;
}

int64_t SketchDistanceBelow(const Sketch& a, const Sketch& b, int64_t limit) {
  int64_t distance = 0;
  for (int i = 0; i < kSketchBuckets; ++i) {
    // A saturated bucket says nothing certain about the difference.
    if (a[i] == UINT16_MAX || b[i] == UINT16_MAX) continue;
    distance += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    if (distance >= limit) return limit;
  }
  return distance;
}

}  // namespace trenode::query
