// Aggregate queries as they arrive over gRPC (trenode.v1.AggregateQuery in
// the binary wire format), compiled against a fixed dataset; see
// query_check.h for what must hold.
#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/query_check.h"

TRENODE_FUZZ_TARGET(query_wire) {
  // Protobuf complains on stderr about every string that is not UTF-8.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  trenode::v1::AggregateQuery query;
  if (!query.ParseFromArray(data, static_cast<int>(size))) return 0;
  trenode::fuzz::CheckCompiledQuery(query);
  return 0;
}
