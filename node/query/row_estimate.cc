#include "node/query/row_estimate.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"
#include "node/storage/sqlite.h"

namespace trenode::query {

absl::StatusOr<std::map<std::string, int64_t>> ReadTableRows(const std::string& dataset_path) {
  ASSIGN_OR_RETURN(auto db,
                   storage::SqliteDb::Open(dataset_path, storage::SqliteDb::Mode::kReadOnly));
  absl::StatusOr<storage::SqliteStatement> select = db->Prepare("SELECT tbl, stat FROM sqlite_stat1");
  if (!select.ok()) return absl::NotFoundError("the dataset has no planner statistics");
  // Each index's row gives the table's row count first; the largest is the
  // table's.
  std::map<std::string, int64_t> rows;
  while (true) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return absl::NotFoundError("the dataset has no planner statistics");
    if (!*row) break;
    std::vector<std::string> words = absl::StrSplit(select->Text(1), ' ');
    int64_t count;
    if (words.empty() || !absl::SimpleAtoi(words[0], &count) || count < 0) continue;
    auto [it, inserted] = rows.emplace(select->Text(0), count);
    if (!inserted) it->second = std::max(it->second, count);
  }
  if (rows.empty()) return absl::NotFoundError("the dataset has no planner statistics");
  return rows;
}

absl::StatusOr<int64_t> SumTableRows(const std::map<std::string, int64_t>& rows,
                                     const std::set<std::string>& tables) {
  int64_t total = 0;
  for (const std::string& table : tables) {
    auto it = rows.find(table);
    if (it == rows.end()) {
      return absl::NotFoundError(absl::StrCat("no planner statistics for table ", table));
    }
    total = it->second > std::numeric_limits<int64_t>::max() - total
                ? std::numeric_limits<int64_t>::max()
                : total + it->second;
  }
  return total;
}

absl::StatusOr<int64_t> EstimateRows(const std::string& dataset_path,
                                     const std::set<std::string>& tables) {
  ASSIGN_OR_RETURN(auto rows, ReadTableRows(dataset_path));
  return SumTableRows(rows, tables);
}

absl::StatusOr<int64_t> KeptTableRows(catalogue::CatalogueStore& store, const DatasetPath& path_of,
                                      const trenode::v1::Dataset& dataset,
                                      const std::set<std::string>& tables) {
  absl::StatusOr<catalogue::TableRows> kept = store.GetTableRows(dataset.id(), dataset.version());
  if (kept.ok()) return SumTableRows(*kept, tables);
  if (!absl::IsNotFound(kept.status())) return kept.status();
  ASSIGN_OR_RETURN(std::string path, path_of(dataset));
  ASSIGN_OR_RETURN(catalogue::TableRows read, ReadTableRows(path));
  store.PutTableRows(dataset.id(), dataset.version(), read).IgnoreError();
  return SumTableRows(read, tables);
}

}  // namespace trenode::query
