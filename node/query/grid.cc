#include "node/query/grid.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"

namespace trenode::query {

std::string FormatNumber(double value) {
  char buffer[64];
  std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

Categories Categories::Binned(std::vector<double> boundaries, bool has_missing) {
  Categories categories;
  categories.binned_ = true;
  categories.has_missing_ = has_missing;
  if (has_missing) categories.labels_.push_back(kMissingLabel);
  categories.labels_.push_back(absl::StrCat("<", FormatNumber(boundaries.front())));
  for (size_t i = 1; i < boundaries.size(); ++i) {
    categories.labels_.push_back(absl::StrCat("[", FormatNumber(boundaries[i - 1]), ",",
                                              FormatNumber(boundaries[i]), ")"));
  }
  categories.labels_.push_back(absl::StrCat(">=", FormatNumber(boundaries.back())));
  categories.boundaries_ = std::move(boundaries);
  return categories;
}

Categories Categories::Listed(std::vector<std::string> values, bool has_missing,
                              bool has_other) {
  Categories categories;
  categories.has_missing_ = has_missing;
  if (has_missing) categories.labels_.push_back(kMissingLabel);
  for (std::string& value : values) {
    categories.listed_.emplace(value, static_cast<int>(categories.labels_.size()));
    categories.labels_.push_back(std::move(value));
  }
  if (has_other) {
    categories.other_ = static_cast<int>(categories.labels_.size());
    categories.labels_.push_back(kOtherLabel);
  }
  return categories;
}

Categories Categories::Indicator() {
  Categories categories;
  categories.indicator_ = true;
  categories.labels_ = {"0", "1"};
  return categories;
}

std::optional<int> Categories::OfNumber(double number) const {
  int offset = has_missing_ ? 1 : 0;
  if (indicator_) {
    if (number == 0) return 0;
    if (number == 1) return 1;
    return std::nullopt;
  }
  if (!binned_) return std::nullopt;
  // The bin is the number of boundaries at or below the value.
  auto above = std::upper_bound(boundaries_.begin(), boundaries_.end(), number);
  return offset + static_cast<int>(above - boundaries_.begin());
}

std::optional<int> Categories::OfText(absl::string_view text) const {
  auto found = listed_.find(text);
  if (found == listed_.end()) return other_;
  return found->second;
}

std::optional<int> Categories::OfMissing() const {
  if (!has_missing_) return std::nullopt;
  return 0;
}

Grid::Grid(std::vector<const Categories*> columns) : columns_(std::move(columns)) {
  for (const Categories* column : columns_) size_ *= static_cast<int64_t>(column->size());
}

int64_t Grid::IndexOf(const std::vector<int>& categories) const {
  int64_t index = 0;
  for (size_t i = 0; i < columns_.size(); ++i) {
    index = index * static_cast<int64_t>(columns_[i]->size()) + categories[i];
  }
  return index;
}

std::vector<int> Grid::CategoriesOf(int64_t index) const {
  std::vector<int> categories(columns_.size());
  for (size_t i = columns_.size(); i-- > 0;) {
    int64_t size = static_cast<int64_t>(columns_[i]->size());
    categories[i] = static_cast<int>(index % size);
    index /= size;
  }
  return categories;
}

std::vector<std::string> Grid::LabelsOf(int64_t index) const {
  std::vector<int> categories = CategoriesOf(index);
  std::vector<std::string> labels;
  for (size_t i = 0; i < columns_.size(); ++i) labels.push_back(columns_[i]->labels()[categories[i]]);
  return labels;
}

}  // namespace trenode::query
