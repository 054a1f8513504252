// Binds a compiled statement's values to its prepared SQL.
#ifndef TRENODE_NODE_QUERY_BIND_PARAMS_H_
#define TRENODE_NODE_QUERY_BIND_PARAMS_H_

#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "node/query/compiler.h"
#include "node/storage/sqlite.h"

namespace trenode::query {

// Binds params[i] to ?(i+1) for every parameter `prepared` names (the
// statements of one query share their numbering, so it may name only some);
// InvalidArgument if it names more than there are.
inline absl::Status BindParams(storage::SqliteStatement& prepared,
                               const std::vector<SqlParam>& params) {
  const size_t named = static_cast<size_t>(prepared.ParameterCount());
  if (named > params.size()) {
    return absl::InvalidArgumentError("the statement names more values than it was given");
  }
  for (size_t i = 0; i < named; ++i) {
    std::visit([&](const auto& value) { prepared.Bind(static_cast<int>(i + 1), value); },
               params[i]);
  }
  return absl::OkStatus();
}

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_BIND_PARAMS_H_
