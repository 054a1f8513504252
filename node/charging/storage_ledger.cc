#include "node/charging/storage_ledger.h"

#include <algorithm>

namespace trenode::charging {

const char* StoredKindName(StoredKind kind) {
  switch (kind) {
    case StoredKind::kOutput:
      return "outputs";
    case StoredKind::kReviewCopy:
      return "review copies";
    case StoredKind::kReleasedCopy:
      return "released copies";
    case StoredKind::kDataset:
      return "approved datasets";
  }
  return "stored objects";
}

__int128 ByteMicrosIn(const std::vector<StorageInterval>& intervals, StoredKind kind,
                       absl::Time from, absl::Time to, absl::Time now) {
  constexpr __int128 kMax = static_cast<__int128>(1) << 86;
  __int128 total = 0;
  const absl::Time end = std::min(to, now);
  for (const StorageInterval& interval : intervals) {
    if (interval.kind != kind || interval.bytes <= 0) continue;
    absl::Time start = std::max(interval.from, from);
    absl::Time stop = std::min(interval.to.value_or(end), end);
    if (stop <= start) continue;
    const int64_t micros = absl::ToInt64Microseconds(stop - start);
    total += static_cast<__int128>(interval.bytes) * micros;  // < 2^63 x 2^63
    if (total > kMax) total = kMax;
  }
  return total;
}

}  // namespace trenode::charging
