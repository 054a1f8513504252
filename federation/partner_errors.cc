#include "federation/partner_errors.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "node/common/fault.h"
#include "node/common/text.h"

namespace trenode::federation {

bool IsFault(const absl::Status& status) {
  // SQLite's errors are faults whatever their code (a constraint's
  // FAILED_PRECONDITION names the table).
  if (IsMarkedFault(status)) return true;
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kUnimplemented:
      return false;
    default:
      return true;
  }
}

absl::Status ForPartner(absl::Status status, absl::string_view partner, absl::string_view method) {
  if (!IsFault(status)) return status;
  std::cerr << absl::StrCat("trenode: ", method, " for partner ", PrintableText(partner, 100),
                            " failed here: ", absl::StatusCodeToString(status.code()), ": ",
                            PrintableText(status.message(), 2000), "\n");
  if (absl::IsUnavailable(status)) {
    return absl::UnavailableError(
        "this node cannot answer now (a storage or service fault here, its staff have the "
        "detail); try again later");
  }
  return absl::InternalError(
      "this node failed to answer (a fault here, its staff have the detail)");
}

}  // namespace trenode::federation
