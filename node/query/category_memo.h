// The category of each value of one column as a pass reads it, remembered
// for the values met again: a pass over a million persons meets the same few
// birth years and sexes again and again, and finding each afresh (a binary
// search of the bins, a lookup in the listed values' map, a copy of the
// text) was about a fifth of a count query's time. Answers exactly as
// Categories does for every value; remembers a bounded number of values, so
// memory stays small whatever the column holds. Not thread-safe: one per
// column per pass.
#ifndef TRENODE_NODE_QUERY_CATEGORY_MEMO_H_
#define TRENODE_NODE_QUERY_CATEGORY_MEMO_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "node/query/grid.h"

namespace trenode::query {

class CategoryMemo {
 public:
  // `categories` must outlive the memo.
  explicit CategoryMemo(const Categories& categories) : categories_(categories) {}

  // As categories.OfNumber(value) for a value SQLite holds as an integer
  // (read as a double, as SQLite converts it).
  std::optional<int> OfInteger(int64_t value);
  std::optional<int> OfReal(double value) const { return categories_.OfNumber(value); }
  // As categories.OfText(text).
  std::optional<int> OfText(absl::string_view text);
  std::optional<int> OfMissing() const { return categories_.OfMissing(); }

  // At most this many texts are remembered; others are looked up each time.
  static constexpr size_t kMaxTexts = 4096;

 private:
  static constexpr int kNone = -1;  // remembered: outside the categories
  struct Slot {
    int64_t value = 0;
    int category = kNone;
    bool filled = false;
  };
  const Categories& categories_;
  std::array<Slot, 256> integers_{};  // direct-mapped by a hash of the value
  absl::flat_hash_map<std::string, int> texts_;
};

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_CATEGORY_MEMO_H_
