// Aggregate queries as a researcher writes them (trenode.v1.AggregateQuery in
// protobuf text format, as `trectl analysis submit` reads them), compiled
// against a fixed dataset; see query_check.h for what must hold. Only what
// reaches the node is compiled: the query as it parses from the wire format
// (the node refuses strings that are not UTF-8, which text format lets by).
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/query_check.h"

namespace {

// Parse errors are expected; they are not printed.
class Silent : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, int, const std::string&) override {}
};

}  // namespace

TRENODE_FUZZ_TARGET(query_text) {
  // Protobuf complains on stderr about every string that is not UTF-8.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  trenode::v1::AggregateQuery query;
  Silent errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(reinterpret_cast<const char*>(data), size), &query)) {
    return 0;
  }
  trenode::v1::AggregateQuery received;
  if (!received.ParseFromString(query.SerializeAsString())) return 0;
  trenode::fuzz::CheckCompiledQuery(received);
  return 0;
}
