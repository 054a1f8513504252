#include "node/ingest/import_progress.h"

#include <algorithm>

namespace trenode::ingest {

ImportProgressReporter::ImportProgressReporter(ImportProgressSink sink, Clock clock,
                                               absl::Duration every)
    : sink_(std::move(sink)), clock_(std::move(clock)), every_(every) {}

void ImportProgressReporter::Begin(const trenode::v1::ImportProgress& state) {
  if (!sink_) return;
  Flush();
  state_ = state;
  rows_at_check_ = state.rows_done();
  Report(clock_());
}

void ImportProgressReporter::Update(int64_t rows_done, int64_t bytes_done) {
  if (rows_done > state_.rows_done()) {
    state_.set_rows_done(rows_done);
    pending_ = true;
  }
  if (bytes_done > state_.bytes_done()) {
    state_.set_bytes_done(bytes_done);
    pending_ = true;
  }
}

void ImportProgressReporter::AdvanceSlow(int64_t rows_done, int64_t bytes_done) {
  rows_at_check_ = rows_done;
  Update(rows_done, bytes_done);
  const absl::Time now = clock_();
  if (pending_ && now - reported_at_ >= every_) Report(now);
}

void ImportProgressReporter::AdvanceBytes(int64_t bytes_done) {
  if (!sink_) return;
  Update(state_.rows_done(), bytes_done);
  const absl::Time now = clock_();
  if (pending_ && now - reported_at_ >= every_) Report(now);
}

void ImportProgressReporter::Flush() {
  if (sink_ && pending_) Report(clock_());
}

void ImportProgressReporter::Report(absl::Time now) {
  sink_(state_);
  reported_at_ = now;
  pending_ = false;
}

}  // namespace trenode::ingest
