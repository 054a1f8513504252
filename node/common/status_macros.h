// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status / absl::StatusOr,
// which Abseil 20220623 does not provide.
#ifndef TRENODE_NODE_COMMON_STATUS_MACROS_H_
#define TRENODE_NODE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TRENODE_CONCAT_INNER_(a, b) a##b
#define TRENODE_CONCAT_(a, b) TRENODE_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// if it is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status trenode_status_ = (expr);           \
    if (!trenode_status_.ok()) return trenode_status_; \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, F());` evaluates F() (an absl::StatusOr<T>);
// returns its status if not OK, otherwise moves the value into `lhs`.
#define ASSIGN_OR_RETURN(lhs, expr) \
  TRENODE_ASSIGN_OR_RETURN_IMPL_(TRENODE_CONCAT_(trenode_or_, __LINE__), lhs, expr)

#define TRENODE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // TRENODE_NODE_COMMON_STATUS_MACROS_H_
