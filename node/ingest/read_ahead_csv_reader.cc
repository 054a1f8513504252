#include "node/ingest/read_ahead_csv_reader.h"

#include <utility>

namespace trenode::ingest {

ReadAheadCsvReader::ReadAheadCsvReader(CsvReader reader)
    : reader_(std::move(reader)), thread_([this] { ReadAll(); }) {}

ReadAheadCsvReader::~ReadAheadCsvReader() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void ReadAheadCsvReader::ReadAll() {
  while (true) {
    // A batch the caller has finished with, if any: its records' strings
    // are parsed into again, so that steady reading allocates nothing.
    Batch batch;
    {
      absl::MutexLock lock(&mu_);
      if (!spent_.empty()) {
        batch = std::move(spent_.back());
        spent_.pop_back();
      }
    }
    batch.last = false;
    batch.error = absl::OkStatus();
    batch.records.resize(kBatchRecords);
    size_t filled = 0;
    while (filled < kBatchRecords) {
      absl::StatusOr<bool> more = reader_.Next(batch.records[filled]);
      if (!more.ok() || !*more) {
        batch.last = true;
        if (!more.ok()) batch.error = more.status();
        break;
      }
      ++filled;
    }
    batch.records.resize(filled);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](ReadAheadCsvReader* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
          return self->stopping_ || self->ready_.size() < kBatchesAhead;
        },
        this));
    if (stopping_) return;
    const bool last = batch.last;
    ready_.push_back(std::move(batch));
    if (last) return;
  }
}

absl::StatusOr<bool> ReadAheadCsvReader::Next(CsvRecord& record) {
  while (next_ == current_.records.size()) {
    if (current_.last) {
      if (!current_.error.ok()) return current_.error;
      return false;
    }
    absl::MutexLock lock(&mu_);
    if (spent_.size() < kBatchesAhead) spent_.push_back(std::move(current_));
    mu_.Await(absl::Condition(
        +[](std::deque<Batch>* ready) { return !ready->empty(); }, &ready_));
    current_ = std::move(ready_.front());
    ready_.pop_front();
    next_ = 0;
  }
  std::swap(record, current_.records[next_++]);
  return true;
}

}  // namespace trenode::ingest
