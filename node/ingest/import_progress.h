// ImportProgressReporter: tells whoever waits on an import what the node is
// doing (trenode.v1.ImportProgress), without slowing the import. A phase that
// begins is reported at once (after a last report of the one before, if it
// advanced since); advances within a phase are reported at most once per
// `every`, and the clock is read only every kRowsPerClockCheck rows, so the
// per-row cost is one comparison.
//
// Contract on what the sink receives: within one phase, rows_done and
// bytes_done never decrease (Advance ignores a step backwards); totals are
// those given to Begin.
//
// Not thread-safe: one import, one thread. A reporter with a null sink does
// nothing.
#ifndef TRENODE_NODE_INGEST_IMPORT_PROGRESS_H_
#define TRENODE_NODE_INGEST_IMPORT_PROGRESS_H_

#include <cstdint>
#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::ingest {

using ImportProgressSink = std::function<void(const trenode::v1::ImportProgress&)>;

class ImportProgressReporter {
 public:
  static constexpr int64_t kRowsPerClockCheck = 1024;
  using Clock = std::function<absl::Time()>;

  explicit ImportProgressReporter(ImportProgressSink sink, Clock clock = &absl::Now,
                                  absl::Duration every = absl::Milliseconds(100));

  // A reporter that reports nothing.
  static ImportProgressReporter Silent() { return ImportProgressReporter(nullptr); }

  // Starts `state.phase()` (or a new table or step of it): reported now.
  // Counters not set in `state` start at 0.
  void Begin(const trenode::v1::ImportProgress& state);

  // The phase's counters are now `rows_done` and `bytes_done` (cumulative
  // within the phase). Cheap: call it for every row.
  void Advance(int64_t rows_done, int64_t bytes_done) {
    if (!sink_ || rows_done - rows_at_check_ < kRowsPerClockCheck) return;
    AdvanceSlow(rows_done, bytes_done);
  }
  // As Advance, for work measured in bytes only (no rows): checks the clock
  // on every call, so call it per block, not per byte.
  void AdvanceBytes(int64_t bytes_done);

  // As Advance, but never reports: the counters a phase (or table) ended
  // with, reported by the next Begin or Flush.
  void Reach(int64_t rows_done, int64_t bytes_done) {
    if (sink_) Update(rows_done, bytes_done);
  }

  // Reports the current state if it advanced since the last report.
  void Flush();

 private:
  void AdvanceSlow(int64_t rows_done, int64_t bytes_done);
  void Update(int64_t rows_done, int64_t bytes_done);
  void Report(absl::Time now);

  ImportProgressSink sink_;
  Clock clock_;
  absl::Duration every_;
  trenode::v1::ImportProgress state_;
  int64_t rows_at_check_ = 0;
  bool pending_ = false;  // state_ advanced since the last report
  absl::Time reported_at_ = absl::InfinitePast();
};

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_IMPORT_PROGRESS_H_
