#include "node/common/fault.h"

#include "absl/strings/cord.h"

namespace trenode {
namespace {

constexpr char kFaultType[] = "type.trenode.dev/fault";

}  // namespace

absl::Status MarkedFault(absl::Status status) {
  if (!status.ok()) status.SetPayload(kFaultType, absl::Cord("1"));
  return status;
}

bool IsMarkedFault(const absl::Status& status) {
  return status.GetPayload(kFaultType).has_value();
}

}  // namespace trenode
