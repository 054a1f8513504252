// Canonical activity-log leaves as a verifier reads them from GetEntries.
// ParseLeaf promises one encoding per event: an accepted leaf re-encodes to
// exactly its own bytes, and its time line has the spec's one shape,
// "time YYYY-MM-DDTHH:MM:SS.ffffffZ" (spec/activity-log.md).
#include "absl/strings/ascii.h"
#include "node/log/activity_event.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

bool IsSpecTime(absl::string_view line) {
  constexpr absl::string_view kShape = "time dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (line.size() != kShape.size()) return false;
  for (size_t i = 0; i < line.size(); ++i) {
    bool ok = kShape[i] == 'd' ? absl::ascii_isdigit(static_cast<unsigned char>(line[i]))
                               : line[i] == kShape[i];
    if (!ok) return false;
  }
  return true;
}

}  // namespace

TRENODE_FUZZ_TARGET(activity_leaf) {
  absl::string_view leaf(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<trenode::log::ActivityEvent> event = trenode::log::ParseLeaf(leaf);
  if (!event.ok()) {
    FUZZ_CHECK(event.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(trenode::log::CanonicalLeaf(*event) == leaf);
  size_t first = leaf.find('\n');
  size_t second = leaf.find('\n', first + 1);
  FUZZ_CHECK(IsSpecTime(leaf.substr(first + 1, second - first - 1)));
  absl::StatusOr<trenode::log::ActivityEvent> again =
      trenode::log::ParseLeaf(trenode::log::CanonicalLeaf(*event));
  FUZZ_CHECK(again.ok() && *again == *event);
  return 0;
}
