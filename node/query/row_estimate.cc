#include "node/query/row_estimate.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"
#include "node/storage/sqlite.h"

namespace trenode::query {

absl::StatusOr<int64_t> EstimateRows(const std::string& dataset_path,
                                     const std::set<std::string>& tables) {
  ASSIGN_OR_RETURN(auto db,
                   storage::SqliteDb::Open(dataset_path, storage::SqliteDb::Mode::kReadOnly));
  int64_t total = 0;
  for (const std::string& table : tables) {
    ASSIGN_OR_RETURN(auto select, db->Prepare("SELECT stat FROM sqlite_stat1 WHERE tbl = ?"));
    select.Bind(1, table);
    // Each index's row gives the table's row count first; the largest is
    // the table's.
    int64_t rows = -1;
    while (true) {
      absl::StatusOr<bool> row = select.Step();
      if (!row.ok()) return absl::NotFoundError("the dataset has no planner statistics");
      if (!*row) break;
      std::vector<std::string> words = absl::StrSplit(select.Text(0), ' ');
      int64_t count;
      if (!words.empty() && absl::SimpleAtoi(words[0], &count)) rows = std::max(rows, count);
    }
    if (rows < 0) {
      return absl::NotFoundError(absl::StrCat("no planner statistics for table ", table));
    }
    total += rows;
  }
  return total;
}

}  // namespace trenode::query
