#include "node/trectl/progress.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace trenode::trectl {
namespace {

// A clock the test moves and a sink that keeps every write.
struct Terminal {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::vector<std::string> writes;

  Progress Make(ProgressOptions options) {
    return Progress(
        std::move(options), [this] { return now; },
        [this](absl::string_view text) { writes.emplace_back(text); });
  }
};

TEST(HumanWordsTest, BytesCountsAndDurations) {
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1000), "1.0 kB");
  EXPECT_EQ(HumanBytes(45'200'000), "45.2 MB");
  EXPECT_EQ(HumanBytes(999'999), "1.0 MB");
  EXPECT_EQ(HumanBytes(3'000'000'000), "3.0 GB");
  EXPECT_EQ(HumanCount(0), "0");
  EXPECT_EQ(HumanCount(999), "999");
  EXPECT_EQ(HumanCount(1'000), "1,000");
  EXPECT_EQ(HumanCount(10'000'000), "10,000,000");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(2100)), "2.1 s");
  EXPECT_EQ(HumanDuration(absl::Seconds(42)), "42 s");
  EXPECT_EQ(HumanDuration(absl::Seconds(125)), "2 min 5 s");
  EXPECT_EQ(HumanDuration(absl::Seconds(3720)), "1 h 2 min");
}

TEST(ProgressTest, DrawsInPlaceAtMostOncePerInterval) {
  Terminal terminal;
  Progress progress =
      terminal.Make({.what = "import d", .total_bytes = 10'000, .counts_rows = true});
  progress.Add(1'000, 10);
  ASSERT_EQ(terminal.writes.size(), 1u);
  EXPECT_EQ(terminal.writes[0], "\rimport d: 1.0 kB of 10.0 kB (10%), 10 rows\033[K");
  terminal.now += absl::Milliseconds(100);
  progress.Add(1'000, 10);
  EXPECT_EQ(terminal.writes.size(), 1u) << "redrawn before the interval passed";
  terminal.now += absl::Milliseconds(150);
  progress.Add(0, 0);
  ASSERT_EQ(terminal.writes.size(), 2u);
  EXPECT_EQ(terminal.writes[1], "\rimport d: 2.0 kB of 10.0 kB (20%), 20 rows\033[K");
  for (const std::string& write : terminal.writes) {
    EXPECT_EQ(write.find('\n'), std::string::npos) << "a progress line must stay on its line";
  }
}

TEST(ProgressTest, RateAndTimeLeftOnceKnowable) {
  Terminal terminal;
  Progress progress = terminal.Make({.what = "download f", .total_bytes = 8'000'000});
  terminal.now += absl::Seconds(2);
  progress.Add(2'000'000);  // 1 MB/s, 6 MB to go
  ASSERT_EQ(terminal.writes.size(), 1u);
  EXPECT_EQ(terminal.writes[0], "\rdownload f: 2.0 MB of 8.0 MB (25%), 1.0 MB/s, 6.0 s left\033[K");
}

TEST(ProgressTest, UnknownTotalHasNoPercentageNorTimeLeft) {
  Terminal terminal;
  Progress progress = terminal.Make({.what = "download f"});
  terminal.now += absl::Seconds(4);
  progress.Add(2'000'000);
  ASSERT_EQ(terminal.writes.size(), 1u);
  EXPECT_EQ(terminal.writes[0], "\rdownload f: 2.0 MB, 500.0 kB/s\033[K");
}

TEST(ProgressTest, WaitingCountsTheTimeSinceAllWasSent) {
  Terminal terminal;
  Progress progress =
      terminal.Make({.what = "import d", .total_bytes = 4'000, .counts_rows = true});
  terminal.now += absl::Seconds(1);
  progress.Add(4'000, 99);
  progress.Waiting("the node is checking them");
  ASSERT_EQ(terminal.writes.size(), 2u) << "waiting draws at once";
  EXPECT_EQ(terminal.writes[1],
            "\rimport d: sent 4.0 kB, 99 rows in 1.0 s; the node is checking them (0.0 s)\033[K");
  terminal.now += absl::Milliseconds(100);
  progress.Tick();
  EXPECT_EQ(terminal.writes.size(), 2u);
  terminal.now += absl::Seconds(12);
  progress.Tick();
  ASSERT_EQ(terminal.writes.size(), 3u);
  EXPECT_TRUE(absl::EndsWith(terminal.writes[2], "the node is checking them (12 s)\033[K"))
      << terminal.writes[2];

  progress.Finish("the node stored them");
  ASSERT_EQ(terminal.writes.size(), 4u);
  EXPECT_EQ(terminal.writes[3],
            "\rimport d: 4.0 kB, 99 rows in 1.0 s (4.0 kB/s); the node stored them in 12 s"
            "\033[K\n");
  progress.Add(1, 1);
  progress.Tick();
  EXPECT_EQ(terminal.writes.size(), 4u) << "nothing is drawn after the summary";
}

TEST(ProgressTest, DoingReplacesTheWordsAndDrawsANewPhaseAtOnce) {
  Terminal terminal;
  Progress progress = terminal.Make({.what = "import d", .counts_rows = true});
  progress.Add(4'000, 99);
  progress.Waiting("the node is checking them");
  ASSERT_EQ(terminal.writes.size(), 2u);
  terminal.now += absl::Milliseconds(10);
  progress.Doing("node loading rows: person", /*draw_now=*/true);
  ASSERT_EQ(terminal.writes.size(), 3u) << "a new phase draws at once";
  EXPECT_TRUE(absl::EndsWith(terminal.writes[2], "; node loading rows: person (0.0 s)\033[K"))
      << terminal.writes[2];
  terminal.now += absl::Milliseconds(10);
  progress.Doing("node loading rows: person, 5 rows", /*draw_now=*/false);
  EXPECT_EQ(terminal.writes.size(), 3u) << "within min_redraw, an advance waits";
  terminal.now += absl::Seconds(2);
  progress.Tick();
  ASSERT_EQ(terminal.writes.size(), 4u);
  EXPECT_TRUE(absl::EndsWith(terminal.writes[3], "; node loading rows: person, 5 rows (2.0 s)\033[K"))
      << "the time counts from Waiting: " << terminal.writes[3];
}

TEST(ProgressTest, SummaryWithoutWaiting) {
  Terminal terminal;
  Progress progress = terminal.Make({.what = "download f", .total_bytes = 3'000});
  progress.Add(3'000);
  terminal.now += absl::Seconds(3);
  progress.Finish();
  EXPECT_EQ(terminal.writes.back(), "\rdownload f: 3.0 kB in 3.0 s (1.0 kB/s)\033[K\n");
}

TEST(ProgressTest, AnUnfinishedLineIsClearedForWhatFollows) {
  Terminal terminal;
  {
    Progress progress = terminal.Make({.what = "import d"});
    progress.Add(10);
  }
  ASSERT_EQ(terminal.writes.size(), 2u);
  EXPECT_EQ(terminal.writes[1], "\r\033[K");

  Terminal finished;
  {
    Progress progress = finished.Make({.what = "import d"});
    progress.Add(10);
    progress.Finish();
  }
  EXPECT_TRUE(absl::EndsWith(finished.writes.back(), "\n")) << "a finished line stays";
}

TEST(ProgressTest, LinesRedrawnInPlaceFitTheTerminal) {
  Terminal terminal;
  Progress progress = terminal.Make(
      {.what = "import a-dataset-with-a-long-name", .total_bytes = 10'000, .max_width = 20});
  progress.Add(5'000);
  ASSERT_EQ(terminal.writes.size(), 1u);
  EXPECT_EQ(terminal.writes[0], "\rimport a-dataset-wit\033[K");
  progress.Finish();
  EXPECT_TRUE(absl::StrContains(terminal.writes[1], "a-dataset-with-a-long-name: 5.0 kB"))
      << "the summary is not cut";
}

TEST(ProgressTest, WithoutASinkNothingIsShown) {
  Progress progress({.what = "import d"}, &absl::Now, nullptr);
  EXPECT_FALSE(progress.shown());
  progress.Add(10, 1);
  progress.Waiting("x");
  progress.Finish();  // and nothing to crash on
}

TEST(ProgressTickerTest, KeepsTheLineCountingWhileTheCallerWaits) {
  absl::Mutex mu;
  std::vector<std::string> writes;
  Progress progress({.what = "import d", .min_redraw = absl::Milliseconds(1)}, &absl::Now,
                    [&](absl::string_view text) {
                      absl::MutexLock lock(&mu);
                      writes.emplace_back(text);
                    });
  progress.Waiting("the node is checking them");
  {
    ProgressTicker ticker(&progress, absl::Milliseconds(5));
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    auto enough = [&] {
      absl::MutexLock lock(&mu);
      return writes.size() >= 3;
    };
    while (!enough() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  }
  absl::MutexLock lock(&mu);
  EXPECT_GE(writes.size(), 3u) << "the ticker did not redraw";
}

TEST(ProgressTickerTest, DoesNothingForAProgressNotShown) {
  Progress progress({.what = "import d"}, &absl::Now, nullptr);
  ProgressTicker ticker(&progress, absl::Milliseconds(1));  // no thread, no crash
}

}  // namespace
}  // namespace trenode::trectl
