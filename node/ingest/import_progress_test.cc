#include "node/ingest/import_progress.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/memory/memory_object_store.h"
#include "gtest/gtest.h"
#include "node/ingest/dataset_builder.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::ingest {
namespace {
using trenode::v1::ImportProgress;

// A clock the test moves.
struct FakeClock {
  absl::Time now = absl::UnixEpoch();
  ImportProgressReporter::Clock AsClock() {
    return [this] { return now; };
  }
};

ImportProgress Loading(const std::string& table, int64_t rows_done, int64_t rows_total) {
  ImportProgress state;
  state.set_phase(ImportProgress::PHASE_LOADING);
  state.set_table(table);
  state.set_rows_done(rows_done);
  state.set_rows_total(rows_total);
  return state;
}

TEST(ImportProgressReporterTest, ReportsEachBeginAtOnceAndAdvancesAtMostEveryInterval) {
  FakeClock clock;
  std::vector<ImportProgress> heard;
  ImportProgressReporter reporter([&](const ImportProgress& p) { heard.push_back(p); },
                                  clock.AsClock(), absl::Milliseconds(100));
  reporter.Begin(Loading("person", 0, 1'000'000));
  ASSERT_EQ(heard.size(), 1u);
  // A million rows at 10 microseconds a row: 10 s, so about 100 reports,
  // never two within 100 ms of each other.
  for (int64_t row = 1; row <= 1'000'000; ++row) {
    clock.now += absl::Microseconds(10);
    reporter.Advance(row, row * 50);
  }
  EXPECT_GE(heard.size(), 90u);
  EXPECT_LE(heard.size(), 101u);
  // The clock is read once per kRowsPerClockCheck rows: a report comes at
  // most that many rows after its interval ends.
  for (size_t i = 2; i < heard.size(); ++i) {
    const int64_t rows_between = heard[i].rows_done() - heard[i - 1].rows_done();
    EXPECT_GE(rows_between, 10'000) << i;  // 100 ms of rows
    EXPECT_LE(rows_between, 10'000 + ImportProgressReporter::kRowsPerClockCheck) << i;
  }
  // The next Begin first reports where the last table ended (Reach: the
  // rows since the last clock check are counted too).
  heard.clear();
  reporter.Reach(1'000'000, 50'000'000);
  reporter.Begin(Loading("measurement", 1'000'000, 3'000'000));
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].table(), "person");
  EXPECT_EQ(heard[0].rows_done(), 1'000'000);
  EXPECT_EQ(heard[1].table(), "measurement");
  // Fast rows are not reported at all until the interval has passed.
  for (int64_t row = 1'000'001; row <= 2'000'000; ++row) reporter.Advance(row, row * 50);
  EXPECT_EQ(heard.size(), 2u) << "a million rows in no time: nothing more";
}

TEST(ImportProgressReporterTest, CountersNeverDecreaseAndAPhaseEndsWithItsLastCounters) {
  FakeClock clock;
  std::vector<ImportProgress> heard;
  ImportProgressReporter reporter([&](const ImportProgress& p) { heard.push_back(p); },
                                  clock.AsClock(), absl::Milliseconds(100));
  reporter.Begin(Loading("person", 0, 5000));
  clock.now += absl::Seconds(1);
  reporter.Advance(4096, 4096);
  clock.now += absl::Seconds(1);
  reporter.Advance(100, 100);  // backwards: ignored
  reporter.AdvanceBytes(10);   // backwards: ignored
  reporter.Reach(5000, 6000);  // the table's end: not reported yet
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[1].rows_done(), 4096);
  ImportProgress indexing;
  indexing.set_phase(ImportProgress::PHASE_INDEXING);
  indexing.set_step(1);
  indexing.set_steps(3);
  reporter.Begin(indexing);  // reports the loading phase's end first
  ASSERT_EQ(heard.size(), 4u);
  EXPECT_EQ(heard[2].phase(), ImportProgress::PHASE_LOADING);
  EXPECT_EQ(heard[2].rows_done(), 5000);
  EXPECT_EQ(heard[2].bytes_done(), 6000);
  EXPECT_EQ(heard[2].rows_total(), 5000);
  EXPECT_EQ(heard[3].phase(), ImportProgress::PHASE_INDEXING);
  EXPECT_EQ(heard[3].rows_done(), 0) << "a new phase's counters start from its Begin";
  // Nothing advanced since: Flush adds nothing.
  reporter.Flush();
  EXPECT_EQ(heard.size(), 4u);
}

TEST(ImportProgressReporterTest, ASilentReporterCallsNothing) {
  ImportProgressReporter reporter = ImportProgressReporter::Silent();
  reporter.Begin(Loading("person", 0, 10));
  reporter.Advance(5000, 5000);
  reporter.Reach(10, 10);
  reporter.Flush();  // would crash on a null sink
}

// A real build reports every phase in order, with counters that only grow
// within a phase and reach the files' own totals.
TEST(ImportProgressReporterTest, ABuildReportsItsPhasesInOrderWithExactTotals) {
  adapters::MemoryObjectStore source;
  std::string person = "person_id,sex\n";
  std::string events = "person_id,code,value\n";
  for (int i = 0; i < 5000; ++i) {
    absl::StrAppend(&person, "P", i, ",", i % 2 ? "F" : "M", "\n");
    absl::StrAppend(&events, "P", i, ",I", i % 7, ",", i, ".5\n");
    absl::StrAppend(&events, "P", i, ",E", i % 3, ",", i, ".25\n");
  }
  ASSERT_TRUE(adapters::WriteObject(source, "person.csv", person).ok());
  ASSERT_TRUE(adapters::WriteObject(source, "measurement.csv", events).ok());
  trenode::v1::Dataset declared;
  declared.set_id("progress");
  testing::TempDir dir;
  std::vector<ImportProgress> heard;
  // Every advance reported: the test sees every step of the counters.
  ImportProgressReporter reporter([&](const ImportProgress& p) { heard.push_back(p); },
                                  &absl::Now, absl::ZeroDuration());
  auto built = BuildDatasetFile(source, declared, dir.File("data.sqlite"), &reporter);
  ASSERT_TRUE(built.ok()) << built.status();

  const int64_t total_bytes = static_cast<int64_t>(person.size() + events.size());
  std::vector<ImportProgress::Phase> phases;
  for (const ImportProgress& p : heard) {
    if (phases.empty() || phases.back() != p.phase()) phases.push_back(p.phase());
  }
  EXPECT_EQ(phases, (std::vector<ImportProgress::Phase>{
                        ImportProgress::PHASE_CHECKING, ImportProgress::PHASE_LOADING,
                        ImportProgress::PHASE_INDEXING,  // the person key's, between tables
                        ImportProgress::PHASE_LOADING, ImportProgress::PHASE_INDEXING,
                        ImportProgress::PHASE_ANALYZING, ImportProgress::PHASE_DESCRIBING}));
  std::map<ImportProgress::Phase, ImportProgress> last;
  for (const ImportProgress& p : heard) {
    if (last.contains(p.phase())) {
      const ImportProgress& before = last[p.phase()];
      EXPECT_GE(p.rows_done(), before.rows_done());
      EXPECT_GE(p.bytes_done(), before.bytes_done());
      EXPECT_GE(p.step(), before.step());
      EXPECT_EQ(p.rows_total(), before.rows_total());
      EXPECT_EQ(p.bytes_total(), before.bytes_total());
    }
    last[p.phase()] = p;
  }
  for (auto phase : {ImportProgress::PHASE_CHECKING, ImportProgress::PHASE_LOADING}) {
    EXPECT_EQ(last[phase].bytes_done(), total_bytes) << phase;
    EXPECT_EQ(last[phase].bytes_total(), total_bytes) << phase;
    EXPECT_EQ(last[phase].rows_done(), 15000) << phase;
  }
  EXPECT_EQ(last[ImportProgress::PHASE_LOADING].rows_total(), 15000);
  EXPECT_EQ(last[ImportProgress::PHASE_LOADING].table(), "measurement");
  // The person key's unique index, then the measurement table's two (its code, its events).
  EXPECT_EQ(last[ImportProgress::PHASE_INDEXING].step(), 3);
  EXPECT_EQ(last[ImportProgress::PHASE_INDEXING].steps(), 3);
  EXPECT_EQ(last[ImportProgress::PHASE_INDEXING].index(), "measurement_person_events");
}

}  // namespace
}  // namespace trenode::ingest
