// The categories of one group column of an aggregate query's output, known
// before the query runs (spec/analyses.md, "Outputs"): the bins of a binned
// number, the value set the catalogue recorded for a TEXT column, or 0 and
// 1 for an indicator, with "(missing)" first where a value can be missing.
// Every output lists every combination of its columns' categories, zeros
// included, so that which cells appear says nothing about the data.
// Immutable once built; thread-compatible.
#ifndef TRENODE_NODE_QUERY_GRID_H_
#define TRENODE_NODE_QUERY_GRID_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace trenode::query {

inline constexpr char kMissingLabel[] = "(missing)";
inline constexpr char kOtherLabel[] = "(other)";
inline constexpr char kTotalLabel[] = "Total";

// A number printed exactly: the shortest text that reads back as the same
// double ("40", "0.1", "1e+300"), so two boundaries never share a label.
std::string FormatNumber(double value);

class Categories {
 public:
  // Bins "<b0", "[b0,b1)", ..., ">=bn" of strictly increasing finite
  // boundaries.
  static Categories Binned(std::vector<double> boundaries, bool has_missing);
  // The given values, in the given order (each once), and "(other)" last
  // for every other value if `has_other`.
  static Categories Listed(std::vector<std::string> values, bool has_missing,
                           bool has_other = false);
  // 0 and 1.
  static Categories Indicator();

  // Labels in order: "(missing)" first if it can occur.
  const std::vector<std::string>& labels() const { return labels_; }
  size_t size() const { return labels_.size(); }
  bool binned() const { return binned_; }
  const std::vector<double>& boundaries() const { return boundaries_; }
  bool has_missing() const { return has_missing_; }

  // The category of a value: `number` for binned and indicator columns,
  // `text` for listed ones, neither for a missing value. Nullopt for a value
  // outside the categories (a missing value where none was expected, or a
  // text the value set does not hold).
  std::optional<int> OfNumber(double number) const;
  std::optional<int> OfText(absl::string_view text) const;
  std::optional<int> OfMissing() const;

 private:
  std::vector<std::string> labels_;
  std::vector<double> boundaries_;
  std::map<std::string, int, std::less<>> listed_;
  bool binned_ = false;
  bool indicator_ = false;
  bool has_missing_ = false;
  std::optional<int> other_;
};

// The categories of several columns as one row-major grid: cell index from
// each column's category, and back.
class Grid {
 public:
  explicit Grid(std::vector<const Categories*> columns);
  // The number of cells: the product of the columns' sizes (1 with none).
  int64_t size() const { return size_; }
  int64_t IndexOf(const std::vector<int>& categories) const;
  std::vector<int> CategoriesOf(int64_t index) const;
  std::vector<std::string> LabelsOf(int64_t index) const;

 private:
  std::vector<const Categories*> columns_;
  int64_t size_ = 1;
};

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_GRID_H_
