// Reading protobuf messages stored as BLOBs in SQLite rows.
#ifndef TRENODE_NODE_STORAGE_PROTO_ROWS_H_
#define TRENODE_NODE_STORAGE_PROTO_ROWS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/storage/sqlite.h"

namespace trenode::storage {

// The message in `column` of the current row; DataLoss if it does not parse.
template <typename Message>
absl::StatusOr<Message> ParseColumn(const SqliteStatement& row, int column) {
  Message message;
  if (!message.ParseFromString(row.Blob(column))) {
    return absl::DataLossError(
        absl::StrCat("stored ", Message::descriptor()->name(), " does not parse"));
  }
  return message;
}

// Steps `select` to the end, parsing column 0 of every row.
template <typename Message>
absl::StatusOr<std::vector<Message>> ParseAllRows(SqliteStatement& select) {
  std::vector<Message> all;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return all;
    ASSIGN_OR_RETURN(Message message, ParseColumn<Message>(select, 0));
    all.push_back(std::move(message));
  }
}

}  // namespace trenode::storage

#endif  // TRENODE_NODE_STORAGE_PROTO_ROWS_H_
