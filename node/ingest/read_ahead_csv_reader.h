// A CsvReader that parses on a thread of its own, a few batches of records
// ahead of its caller, so that parsing a large file and the caller's work on
// each record (type checks, inserts) run on two cores. Memory stays bounded:
// at most kBatchesAhead batches of kBatchRecords records are held, and as
// many spent ones, kept so that their strings are parsed into again.
//
// Not thread-safe: one caller, one thread (plus the reader's own).
#ifndef TRENODE_NODE_INGEST_READ_AHEAD_CSV_READER_H_
#define TRENODE_NODE_INGEST_READ_AHEAD_CSV_READER_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/ingest/csv_reader.h"

namespace trenode::ingest {

class ReadAheadCsvReader {
 public:
  static constexpr size_t kBatchRecords = 1024;
  static constexpr size_t kBatchesAhead = 4;

  explicit ReadAheadCsvReader(CsvReader reader);
  // Stops the reading thread (after the batch it is parsing) and waits for it.
  ~ReadAheadCsvReader();
  ReadAheadCsvReader(const ReadAheadCsvReader&) = delete;
  ReadAheadCsvReader& operator=(const ReadAheadCsvReader&) = delete;

  // As CsvReader::Next: the next record, false at the end, or the reader's
  // error once every record before it has been returned.
  absl::StatusOr<bool> Next(CsvRecord& record);

 private:
  struct Batch {
    std::vector<CsvRecord> records;
    bool last = false;  // nothing follows: the end, or `error`
    absl::Status error;
  };
  void ReadAll();

  CsvReader reader_;
  absl::Mutex mu_;
  std::deque<Batch> ready_ ABSL_GUARDED_BY(mu_);
  // Batches the caller has finished with, for the reader to fill again.
  std::vector<Batch> spent_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Batch current_;  // the caller's, being handed out
  size_t next_ = 0;
  std::thread thread_;
};

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_READ_AHEAD_CSV_READER_H_
