// A streaming reader of RFC 4180 CSV from an ObjectReader: comma separated,
// fields optionally in double quotes (a quote inside doubled), CRLF or LF line
// ends, newlines allowed inside quoted fields. A UTF-8 byte order mark at the
// start is skipped.
//
// Not thread-safe: one reader, one thread.
#ifndef TRENODE_NODE_INGEST_CSV_READER_H_
#define TRENODE_NODE_INGEST_CSV_READER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/object_store.h"

namespace trenode::ingest {

struct CsvRecord {
  int64_t line = 0;  // 1-based line on which the record starts
  std::vector<std::string> fields;
  // True for an empty line (one empty, unquoted field).
  bool blank = false;
  // Bytes of the input read through the end of this record (its line end
  // included): for progress.
  int64_t end_byte = 0;
};

class CsvReader {
 public:
  // `file_name` is used only in error messages.
  CsvReader(std::unique_ptr<adapters::ObjectReader> input, std::string file_name);

  // The next record into `record` (whose strings are reused); false at the
  // end of the input.
  // InvalidArgument "FILE line L character C: ..." for an unterminated quoted
  // field, a quote inside an unquoted field, text after a closing quote, a
  // field longer than 1 MiB, a record of more than 2,000 fields, or a field
  // that is not valid UTF-8 (naming the first bad byte).
  absl::StatusOr<bool> Next(CsvRecord& record);

 private:
  // The next byte, or -1 at the end.
  absl::StatusOr<int> Get();
  absl::Status Error(int64_t line, int64_t column, absl::string_view problem) const;
  // Appends to `field` the buffered bytes up to the first of `stops` (or
  // the buffer's end): the plain run of a field, taken at once.
  void TakeRun(std::string& field, absl::string_view stops);
  // The string of the field being read, record.fields[fields_] (added if
  // the record has fewer strings).
  std::string& Field(CsvRecord& record);
  // Checks the field being read (which began at `column` of `line`) and
  // counts it.
  absl::Status EndField(CsvRecord& record, int64_t line, int64_t column);

  std::unique_ptr<adapters::ObjectReader> input_;
  std::string file_name_;
  std::string buffer_;
  size_t position_ = 0;
  int64_t consumed_before_buffer_ = 0;  // input bytes before buffer_
  bool at_end_ = false;
  bool started_ = false;
  int64_t line_ = 1;
  int64_t column_ = 0;
  size_t fields_ = 0;  // fields of the record being read, ended so far
};

// A CsvReader over `text` held in memory (a released table, an output file
// already read whole); `file_name` is used only in error messages.
CsvReader CsvReaderOf(absl::string_view text, std::string file_name);

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_CSV_READER_H_
