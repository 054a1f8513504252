// Progress of one long transfer (an import, a download), drawn for a person
// watching a terminal: one line, redrawn in place at most a few times a
// second, with bytes (of the total, when known), rows, rate and time left;
// then, while the other side works on what was sent, what it is doing and
// for how long; at the end one summary line.
//
// Shown only on a terminal: `Progress::OnStderr` gives a silent Progress when
// stderr is not one or the output is JSON, so callers report progress
// unconditionally. The clock and the sink are injected for tests.
//
// Thread-safe: a ProgressTicker may redraw from its thread while the owner
// adds progress from another.
#ifndef TRENODE_NODE_TRECTL_PROGRESS_H_
#define TRENODE_NODE_TRECTL_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace trenode::trectl {

struct ProgressOptions {
  std::string what;          // names the transfer, e.g. "import synth-ehr-9"
  int64_t total_bytes = -1;  // -1: unknown (no percentage, no time left)
  bool counts_rows = false;  // show rows as well as bytes
  absl::Duration min_redraw = absl::Milliseconds(250);
  size_t max_width = 0;  // 0: any; else lines are cut to this many bytes
};

class Progress {
 public:
  using Clock = std::function<absl::Time()>;
  // Receives the exact text to write ("\r", the line, erase-to-end-of-line;
  // a final "\n"); writes it at once.
  using Sink = std::function<void(absl::string_view)>;

  // A null `sink` makes a Progress that shows nothing.
  Progress(ProgressOptions options, Clock clock, Sink sink);
  // Clears a line left unfinished (an error is about to be printed).
  ~Progress();

  // On stderr with the real clock, cut to the terminal's width, if stderr is
  // a terminal and `json` is false; otherwise silent.
  static std::unique_ptr<Progress> OnStderr(ProgressOptions options, bool json);

  bool shown() const { return sink_ != nullptr; }

  // The total, once known (-1: unknown).
  void SetTotal(int64_t total_bytes) ABSL_LOCKS_EXCLUDED(mu_);

  // `bytes` and `rows` more were moved. Draws the first time, then at most
  // once per min_redraw.
  void Add(int64_t bytes, int64_t rows = 0) ABSL_LOCKS_EXCLUDED(mu_);
  // Everything is sent; the other side is now `doing` (e.g. "the node is
  // checking the rows"): the line says so, with the time since. Draws now.
  void Waiting(absl::string_view doing) ABSL_LOCKS_EXCLUDED(mu_);
  // While waiting: the other side now says it is `doing` this (e.g. "node
  // loading rows: ..."); the time shown still counts from Waiting. Draws now
  // if `draw_now` (a new phase), else once min_redraw has passed.
  void Doing(absl::string_view doing, bool draw_now) ABSL_LOCKS_EXCLUDED(mu_);
  // Redraws if min_redraw has passed (for the time shown while waiting).
  void Tick() ABSL_LOCKS_EXCLUDED(mu_);
  // Replaces the line with the summary and ends it; `done` (e.g. "the node
  // stored them") names what the wait ended with. Nothing is drawn after.
  void Finish(absl::string_view done = "") ABSL_LOCKS_EXCLUDED(mu_);

 private:
  std::string LineLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrawLocked(absl::Time now, absl::string_view line, absl::string_view end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ProgressOptions options_ ABSL_GUARDED_BY(mu_);
  const Clock clock_;
  const Sink sink_;
  const absl::Time start_;
  absl::Mutex mu_;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rows_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time sent_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();  // when Waiting began
  std::string doing_ ABSL_GUARDED_BY(mu_);
  absl::Time drawn_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool line_open_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// Calls progress->Tick() every `every` on its own thread until destroyed, so
// the line keeps counting while the caller blocks. Does nothing for a
// Progress that is not shown.
class ProgressTicker {
 public:
  ProgressTicker(Progress* progress, absl::Duration every);
  ~ProgressTicker();

 private:
  absl::Notification stop_;
  std::thread thread_;
};

// "12.3 MB" (SI units), "1,234,567", "2 min 5 s": the words the line uses.
std::string HumanBytes(int64_t bytes);
std::string HumanCount(int64_t count);
std::string HumanDuration(absl::Duration duration);

}  // namespace trenode::trectl

#endif  // TRENODE_NODE_TRECTL_PROGRESS_H_
