// The rows of a value pass that reads one MIN or MAX event feature alone
// (ValuePass::lone), reduced from the feature's ungrouped rows: one row per
// person with a value, in rowid order, the value the grouped statement's
// MIN or MAX gives over the same rows.
#ifndef TRENODE_NODE_QUERY_LONE_FEATURE_H_
#define TRENODE_NODE_QUERY_LONE_FEATURE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "node/query/person_columns.h"
#include "node/storage/sqlite.h"

namespace trenode::query {

// SQLite's order of two non-NULL values (numbers by value, an integer and a
// real exactly; numbers before text; text by bytes): negative, 0 or positive.
int CompareAsSqlite(const StoredValue& a, const StoredValue& b);

class LoneFeatureReader {
 public:
  // `rows`: LoneFeature::rows prepared and bound (person rowid, value).
  LoneFeatureReader(storage::SqliteStatement rows, bool max) : rows_(std::move(rows)), max_(max) {}

  // Moves to the next person; false past the last. Fails as stepping the
  // statement fails (e.g. cancelled), or Internal if rows come out of
  // person order.
  absl::StatusOr<bool> Next();
  int64_t rowid() const { return rowid_; }
  // The person's value: of their values, the least (MIN) or greatest (MAX),
  // the first of equal ones, as SQLite's aggregate keeps it.
  const StoredValue& value() const { return value_; }
  // Back to before the first person.
  void Rewind();

 private:
  storage::SqliteStatement rows_;
  bool max_;
  bool on_next_ = false;  // rows_ is on the next person's first row
  bool done_ = false;
  int64_t rowid_ = 0;
  StoredValue value_;
};

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_LONE_FEATURE_H_
