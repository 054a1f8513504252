#include "node/ingest/column_profile.h"

namespace trenode::ingest {

ColumnProfile::ColumnProfile(bool count_values, size_t max_values, size_t max_bytes)
    : max_values_(max_values),
      max_bytes_(max_bytes),
      state_(count_values ? Values::kCounted : Values::kNotCounted) {}

void ColumnProfile::Observe(absl::string_view cell) {
  if (cell.empty()) {
    has_missing_ = true;
    return;
  }
  if (state_ != Values::kCounted) return;
  if (auto found = counts_.find(cell); found != counts_.end()) {
    ++found->second;
    return;
  }
  if (counts_.size() == max_values_) {
    state_ = Values::kTooMany;
  } else if (bytes_ + cell.size() > max_bytes_) {
    state_ = Values::kNotCounted;
  } else {
    bytes_ += cell.size();
    counts_.emplace(cell, 1);
    return;
  }
  counts_.clear();
}

std::map<std::string, int64_t> ColumnProfile::values() const {
  if (state_ != Values::kCounted) return {};
  return std::map<std::string, int64_t>(counts_.begin(), counts_.end());
}

}  // namespace trenode::ingest
