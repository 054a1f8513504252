// What loading learns of one column's cells, so that describing the person
// table (spec/catalogue.md: has_missing, categories) needs no further pass
// over it: whether any cell is empty and, if asked, how many rows hold each
// value while the column has few distinct values. Memory is bounded by
// `max_values` and `max_bytes`, whatever the number of rows.
//
// Not thread-safe: one loader, one thread.
#ifndef TRENODE_NODE_INGEST_COLUMN_PROFILE_H_
#define TRENODE_NODE_INGEST_COLUMN_PROFILE_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace trenode::ingest {

class ColumnProfile {
 public:
  // What is known of the column's distinct values.
  enum class Values {
    kNotCounted,  // not asked for, or past max_bytes: count them some other way
    kCounted,     // every distinct value and its rows: values()
    kTooMany,     // more than max_values distinct values
  };

  // `count_values`: keep each value's row count, up to `max_values` distinct
  // values holding at most `max_bytes` of text in all.
  ColumnProfile(bool count_values, size_t max_values, size_t max_bytes);

  // One cell; an empty one is a missing value (NULL), never counted.
  void Observe(absl::string_view cell);

  bool has_missing() const { return has_missing_; }
  Values state() const { return state_; }
  // kCounted: each non-empty value and its rows, in byte order (as SQLite
  // sorts TEXT). Empty in any other state.
  std::map<std::string, int64_t> values() const;

 private:
  size_t max_values_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  bool has_missing_ = false;
  Values state_;
  absl::flat_hash_map<std::string, int64_t> counts_;
};

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_COLUMN_PROFILE_H_
