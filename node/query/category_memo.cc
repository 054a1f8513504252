#include "node/query/category_memo.h"

namespace trenode::query {

std::optional<int> CategoryMemo::OfInteger(int64_t value) {
  // Fibonacci hashing: the top 8 bits of value × 2^64/φ.
  Slot& slot = integers_[(static_cast<uint64_t>(value) * 0x9E3779B97F4A7C15ull) >> 56];
  if (!slot.filled || slot.value != value) {
    std::optional<int> category = categories_.OfNumber(static_cast<double>(value));
    slot = Slot{value, category ? *category : kNone, true};
  }
  if (slot.category == kNone) return std::nullopt;
  return slot.category;
}

std::optional<int> CategoryMemo::OfText(absl::string_view text) {
  auto found = texts_.find(text);
  if (found != texts_.end()) {
    if (found->second == kNone) return std::nullopt;
    return found->second;
  }
  std::optional<int> category = categories_.OfText(text);
  if (texts_.size() < kMaxTexts) texts_.emplace(std::string(text), category ? *category : kNone);
  return category;
}

}  // namespace trenode::query
