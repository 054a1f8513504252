#include "node/trectl/import_progress_words.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "node/trectl/progress.h"

namespace trenode::trectl {
namespace {
using trenode::v1::ImportProgress;

// Below this, a rate says more about start-up than speed.
constexpr absl::Duration kRateAfter = absl::Milliseconds(500);

int Percent(int64_t done, int64_t total) {
  return static_cast<int>(100 * static_cast<double>(done) / static_cast<double>(total));
}

// ", 45.0 MB/s, 8 s left" (or rows/s), from `done` of `total` since `start`.
std::string RateAndTimeLeft(int64_t done, int64_t total, int64_t at_start, absl::Duration elapsed,
                            bool bytes) {
  const int64_t moved = done - at_start;
  if (elapsed < kRateAfter || moved <= 0) return "";
  const double per_second = static_cast<double>(moved) / absl::ToDoubleSeconds(elapsed);
  std::string words =
      bytes ? absl::StrCat(", ", HumanBytes(static_cast<int64_t>(per_second)), "/s")
            : absl::StrCat(", ", HumanCount(static_cast<int64_t>(per_second)), " rows/s");
  if (total > done) {
    const double left = static_cast<double>(total - done) / per_second;
    absl::StrAppend(&words, ", ", HumanDuration(absl::Seconds(std::ceil(left))), " left");
  }
  return words;
}

}  // namespace

ImportProgressWords::Words ImportProgressWords::Describe(const ImportProgress& event,
                                                         absl::Time now) {
  Words words;
  if (event.phase() != phase_) {
    words.new_phase = true;
    phase_ = event.phase();
    phase_start_ = now;
    rows_at_start_ = event.rows_done();
    bytes_at_start_ = event.bytes_done();
  }
  const absl::Duration elapsed = now - phase_start_;
  const std::string step =
      event.steps() > 0 ? absl::StrCat(" ", event.step(), " of ", event.steps()) : "";
  switch (event.phase()) {
    case ImportProgress::PHASE_CHECKING:
      words.text = absl::StrCat("node checking rows: ", event.table(), ", ",
                                HumanCount(event.rows_done()), " rows");
      if (event.bytes_total() > 0) {
        absl::StrAppend(&words.text, ", ", HumanBytes(event.bytes_done()), " of ",
                        HumanBytes(event.bytes_total()), " (",
                        Percent(event.bytes_done(), event.bytes_total()), "%)");
      }
      absl::StrAppend(&words.text, RateAndTimeLeft(event.bytes_done(), event.bytes_total(),
                                                   bytes_at_start_, elapsed, true));
      break;
    case ImportProgress::PHASE_LOADING:
      words.text = absl::StrCat("node loading rows: ", event.table(), ", ",
                                HumanCount(event.rows_done()));
      if (event.rows_total() > 0) {
        absl::StrAppend(&words.text, " of ", HumanCount(event.rows_total()), " rows (",
                        Percent(event.rows_done(), event.rows_total()), "%)");
      } else {
        absl::StrAppend(&words.text, " rows");
      }
      absl::StrAppend(&words.text, RateAndTimeLeft(event.rows_done(), event.rows_total(),
                                                   rows_at_start_, elapsed, false));
      break;
    case ImportProgress::PHASE_INDEXING:
      words.text = absl::StrCat("node building index", step, ": ", event.index());
      break;
    case ImportProgress::PHASE_ANALYZING:
      words.text = "node gathering statistics for the query planner (ANALYZE)";
      break;
    case ImportProgress::PHASE_CHECKING_KEYS:
      words.text = absl::StrCat("node checking person keys", step, ": ", event.table());
      break;
    case ImportProgress::PHASE_DESCRIBING:
      words.text = absl::StrCat("node describing the columns of ", event.table());
      break;
    case ImportProgress::PHASE_STORING:
      words.text = absl::StrCat("node storing the dataset file: ", HumanBytes(event.bytes_done()));
      if (event.bytes_total() > 0) {
        absl::StrAppend(&words.text, " of ", HumanBytes(event.bytes_total()), " (",
                        Percent(event.bytes_done(), event.bytes_total()), "%)");
      }
      absl::StrAppend(&words.text, RateAndTimeLeft(event.bytes_done(), event.bytes_total(),
                                                   bytes_at_start_, elapsed, true));
      break;
    case ImportProgress::PHASE_PUBLISHING:
      words.text = "node publishing the catalogue entry";
      break;
    default:
      words.text = "node working";  // a phase newer than this trectl
      break;
  }
  return words;
}

}  // namespace trenode::trectl
