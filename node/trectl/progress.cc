#include "node/trectl/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace trenode::trectl {
namespace {

constexpr absl::string_view kEraseToEnd = "\033[K";
// Below this, a rate (and so a time left) says more about start-up than speed.
constexpr absl::Duration kRateAfter = absl::Milliseconds(500);

std::string Rate(int64_t bytes, absl::Duration elapsed) {
  return absl::StrCat(
      HumanBytes(static_cast<int64_t>(static_cast<double>(bytes) / absl::ToDoubleSeconds(elapsed))),
      "/s");
}

}  // namespace

std::string HumanBytes(int64_t bytes) {
  if (bytes < 1000) return absl::StrCat(bytes, " B");
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 999.95 && unit < 3) {
    value /= 1000;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

std::string HumanCount(int64_t count) {
  std::string digits = absl::StrCat(count < 0 ? -count : count);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return count < 0 ? "-" + out : out;
}

std::string HumanDuration(absl::Duration duration) {
  if (duration < absl::Seconds(10)) {
    return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(duration));
  }
  int64_t seconds = absl::ToInt64Seconds(duration);
  if (seconds < 60) return absl::StrCat(seconds, " s");
  if (seconds < 3600) return absl::StrCat(seconds / 60, " min ", seconds % 60, " s");
  return absl::StrCat(seconds / 3600, " h ", seconds % 3600 / 60, " min");
}

Progress::Progress(ProgressOptions options, Clock clock, Sink sink)
    : options_(std::move(options)),
      clock_(std::move(clock)),
      sink_(std::move(sink)),
      start_(clock_()) {}

Progress::~Progress() {
  absl::MutexLock lock(&mu_);
  if (sink_ && line_open_ && !finished_) sink_(absl::StrCat("\r", kEraseToEnd));
}

std::unique_ptr<Progress> Progress::OnStderr(ProgressOptions options, bool json) {
  Sink sink;
  if (!json && ::isatty(STDERR_FILENO) == 1) {
    winsize size{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1) {
      options.max_width = size.ws_col - 1;
    }
    sink = [](absl::string_view text) {
      while (!text.empty()) {
        ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
        if (written <= 0) return;
        text.remove_prefix(static_cast<size_t>(written));
      }
    };
  }
  return std::make_unique<Progress>(std::move(options), &absl::Now, std::move(sink));
}

std::string Progress::LineLocked(absl::Time now) const {
  std::string line = absl::StrCat(options_.what, ": ");
  const bool waiting = sent_at_ != absl::InfinitePast();
  if (waiting) absl::StrAppend(&line, "sent ");
  absl::StrAppend(&line, HumanBytes(bytes_));
  if (options_.total_bytes >= 0 && !waiting) {
    int percent = options_.total_bytes == 0
                      ? 100
                      : static_cast<int>(100 * static_cast<double>(bytes_) /
                                         static_cast<double>(options_.total_bytes));
    absl::StrAppend(&line, " of ", HumanBytes(options_.total_bytes), " (", percent, "%)");
  }
  if (options_.counts_rows) absl::StrAppend(&line, ", ", HumanCount(rows_), " rows");
  if (waiting) {
    absl::StrAppend(&line, " in ", HumanDuration(sent_at_ - start_), "; ", doing_, " (",
                    HumanDuration(now - sent_at_), ")");
    return line;
  }
  const absl::Duration elapsed = now - start_;
  if (elapsed >= kRateAfter && bytes_ > 0) {
    absl::StrAppend(&line, ", ", Rate(bytes_, elapsed));
    if (options_.total_bytes > bytes_) {
      double left = static_cast<double>(options_.total_bytes - bytes_) *
                    absl::ToDoubleSeconds(elapsed) / static_cast<double>(bytes_);
      absl::StrAppend(&line, ", ", HumanDuration(absl::Seconds(std::ceil(left))), " left");
    }
  }
  return line;
}

void Progress::DrawLocked(absl::Time now, absl::string_view line, absl::string_view end) {
  // Only a line redrawn in place must fit: a longer one would wrap and the
  // next redraw would start on the wrong line.
  if (end.empty() && options_.max_width > 0 && line.size() > options_.max_width) {
    line = line.substr(0, options_.max_width);
  }
  sink_(absl::StrCat("\r", line, kEraseToEnd, end));
  drawn_at_ = now;
  line_open_ = end.empty();
}

void Progress::SetTotal(int64_t total_bytes) {
  absl::MutexLock lock(&mu_);
  options_.total_bytes = total_bytes;
}

void Progress::Add(int64_t bytes, int64_t rows) {
  if (!sink_) return;
  absl::MutexLock lock(&mu_);
  bytes_ += bytes;
  rows_ += rows;
  if (finished_) return;
  absl::Time now = clock_();
  if (now - drawn_at_ >= options_.min_redraw) DrawLocked(now, LineLocked(now), "");
}

void Progress::Waiting(absl::string_view doing) {
  if (!sink_) return;
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  absl::Time now = clock_();
  sent_at_ = now;
  doing_ = std::string(doing);
  DrawLocked(now, LineLocked(now), "");
}

void Progress::Doing(absl::string_view doing, bool draw_now) {
  if (!sink_) return;
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  absl::Time now = clock_();
  if (sent_at_ == absl::InfinitePast()) sent_at_ = now;
  doing_ = std::string(doing);
  if (draw_now || now - drawn_at_ >= options_.min_redraw) DrawLocked(now, LineLocked(now), "");
}

void Progress::Tick() {
  if (!sink_) return;
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  absl::Time now = clock_();
  if (now - drawn_at_ >= options_.min_redraw) DrawLocked(now, LineLocked(now), "");
}

void Progress::Finish(absl::string_view done) {
  if (!sink_) return;
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  const absl::Time now = clock_();
  const absl::Time sent = sent_at_ == absl::InfinitePast() ? now : sent_at_;
  std::string line = absl::StrCat(options_.what, ": ", HumanBytes(bytes_));
  if (options_.counts_rows) absl::StrAppend(&line, ", ", HumanCount(rows_), " rows");
  absl::StrAppend(&line, " in ", HumanDuration(sent - start_));
  if (sent > start_ && bytes_ > 0) absl::StrAppend(&line, " (", Rate(bytes_, sent - start_), ")");
  if (sent_at_ != absl::InfinitePast()) {
    absl::StrAppend(&line, "; ", done.empty() ? doing_ : std::string(done), " in ",
                    HumanDuration(now - sent_at_));
  }
  DrawLocked(now, line, "\n");
}

ProgressTicker::ProgressTicker(Progress* progress, absl::Duration every) {
  if (!progress->shown()) return;
  thread_ = std::thread([this, progress, every] {
    while (!stop_.WaitForNotificationWithTimeout(every)) progress->Tick();
  });
}

ProgressTicker::~ProgressTicker() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace trenode::trectl
