// What a CSV cell may hold for each column type, and inference of a column's
// type from its cells. An empty cell is NULL and fits every type.
#ifndef TRENODE_NODE_INGEST_COLUMN_TYPES_H_
#define TRENODE_NODE_INGEST_COLUMN_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::ingest {

std::optional<int64_t> ParseInteger(absl::string_view cell);
// Finite decimal numbers, with optional exponent; no hex, inf or nan.
std::optional<double> ParseReal(absl::string_view cell);
// YYYY-MM-DD naming a real calendar day.
bool IsIsoDate(absl::string_view cell);

bool Fits(absl::string_view cell, trenode::v1::ColumnType type);

// Narrows a column's type as cells are seen: INTEGER, then REAL, DATE, and
// finally TEXT, which fits anything.
class TypeInference {
 public:
  void Observe(absl::string_view cell);
  // TEXT for a column with no non-empty cells.
  trenode::v1::ColumnType Result() const;

 private:
  bool any_ = false;
  bool integer_ = true;
  bool real_ = true;
  bool date_ = true;
};

// "an integer", "a number", "a date (YYYY-MM-DD)", "text".
std::string Describe(trenode::v1::ColumnType type);

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_COLUMN_TYPES_H_
