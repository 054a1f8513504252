// The CSV reader over any bytes. The same input is read twice, from the
// in-memory store (one chunk) and from a reader that hands out a few bytes at
// a time: the records, or the error, must be the same, so no chunk boundary
// changes what a file says. Every record keeps the reader's promises: fields
// of valid UTF-8, at most 2,000 of them, each at most 1 MiB, lines rising.
#include <algorithm>

#include "absl/strings/match.h"
#include "adapters/memory/memory_object_store.h"
#include "node/ingest/csv_reader.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/utf8.h"

namespace trenode::fuzz {
namespace {

using ingest::CsvReader;
using ingest::CsvRecord;

class ChunkedReader : public adapters::ObjectReader {
 public:
  ChunkedReader(std::string data, size_t chunk) : data_(std::move(data)), chunk_(chunk) {}
  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    std::string out = data_.substr(position_, std::min(max_bytes, chunk_));
    position_ += out.size();
    return out;
  }

 private:
  std::string data_;
  size_t chunk_;
  size_t position_ = 0;
};

struct Outcome {
  std::vector<CsvRecord> records;
  absl::Status status;
};

Outcome ReadAll(std::unique_ptr<adapters::ObjectReader> input) {
  CsvReader reader(std::move(input), "fuzz.csv");
  Outcome outcome;
  CsvRecord record;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(record);
    if (!more.ok()) {
      outcome.status = more.status();
      return outcome;
    }
    if (!*more) return outcome;
    outcome.records.push_back(record);
  }
}

bool SameRecords(const std::vector<CsvRecord>& a, const std::vector<CsvRecord>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const CsvRecord& x, const CsvRecord& y) {
                      return x.line == y.line && x.fields == y.fields && x.blank == y.blank;
                    });
}

}  // namespace
}  // namespace trenode::fuzz

TRENODE_FUZZ_TARGET(csv_reader) {
  using namespace trenode::fuzz;
  std::string text(reinterpret_cast<const char*>(data), size);

  trenode::adapters::MemoryObjectStore store;
  FUZZ_CHECK(trenode::adapters::WriteObject(store, "fuzz.csv", text).ok());
  auto whole_reader = store.OpenRead("fuzz.csv");
  FUZZ_CHECK(whole_reader.ok());
  Outcome whole = ReadAll(*std::move(whole_reader));
  Outcome chunked = ReadAll(std::make_unique<ChunkedReader>(text, 1 + size % 7));

  FUZZ_CHECK(whole.status == chunked.status);
  FUZZ_CHECK(SameRecords(whole.records, chunked.records));
  if (!whole.status.ok()) {
    FUZZ_CHECK(whole.status.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(whole.status.message(), "fuzz.csv line "));
  }
  int64_t previous_line = 0;
  for (const trenode::ingest::CsvRecord& record : whole.records) {
    FUZZ_CHECK(record.line > previous_line);
    previous_line = record.line;
    FUZZ_CHECK(!record.fields.empty() && record.fields.size() <= 2000);
    FUZZ_CHECK(!record.blank || (record.fields.size() == 1 && record.fields[0].empty()));
    for (const std::string& field : record.fields) {
      FUZZ_CHECK(field.size() <= (1u << 20));
      FUZZ_CHECK(IsUtf8(field));
    }
  }
  return 0;
}
