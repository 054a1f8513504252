#include "node/trectl/import_progress_words.h"

#include "gtest/gtest.h"

namespace trenode::trectl {
namespace {
using trenode::v1::ImportProgress;

ImportProgress Event(ImportProgress::Phase phase, const std::string& table, int64_t rows_done,
                     int64_t rows_total, int64_t bytes_done, int64_t bytes_total) {
  ImportProgress event;
  event.set_phase(phase);
  event.set_table(table);
  event.set_rows_done(rows_done);
  event.set_rows_total(rows_total);
  event.set_bytes_done(bytes_done);
  event.set_bytes_total(bytes_total);
  return event;
}

TEST(ImportProgressWordsTest, RowsBytesRateAndTimeLeftOncePhaseHasRun) {
  ImportProgressWords words;
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  auto checking = words.Describe(
      Event(ImportProgress::PHASE_CHECKING, "person", 0, 0, 0, 400'000'000), now);
  EXPECT_TRUE(checking.new_phase);
  EXPECT_EQ(checking.text, "node checking rows: person, 0 rows, 0 B of 400.0 MB (0%)");
  now += absl::Seconds(2);
  checking = words.Describe(
      Event(ImportProgress::PHASE_CHECKING, "measurement", 1'000'000, 0, 100'000'000, 400'000'000),
      now);
  EXPECT_FALSE(checking.new_phase);
  EXPECT_EQ(checking.text,
            "node checking rows: measurement, 1,000,000 rows, 100.0 MB of 400.0 MB (25%), "
            "50.0 MB/s, 6.0 s left");

  // A new phase: its rate counts from its own start, in rows.
  auto loading = words.Describe(
      Event(ImportProgress::PHASE_LOADING, "person", 0, 4'000'000, 0, 400'000'000), now);
  EXPECT_TRUE(loading.new_phase);
  EXPECT_EQ(loading.text, "node loading rows: person, 0 of 4,000,000 rows (0%)");
  now += absl::Milliseconds(400);
  loading = words.Describe(
      Event(ImportProgress::PHASE_LOADING, "person", 100, 4'000'000, 10, 400'000'000), now);
  EXPECT_EQ(loading.text, "node loading rows: person, 100 of 4,000,000 rows (0%)")
      << "no rate within the first half second";
  now += absl::Seconds(4) + absl::Milliseconds(600);
  loading = words.Describe(
      Event(ImportProgress::PHASE_LOADING, "person", 1'000'000, 4'000'000, 10, 400'000'000), now);
  EXPECT_EQ(loading.text,
            "node loading rows: person, 1,000,000 of 4,000,000 rows (25%), 200,000 rows/s, 15 s left");
}

TEST(ImportProgressWordsTest, StepsIndexesAndTheOtherPhases) {
  ImportProgressWords words;
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ImportProgress indexing;
  indexing.set_phase(ImportProgress::PHASE_INDEXING);
  indexing.set_table("measurement");
  indexing.set_index("measurement_code_plan");
  indexing.set_step(3);
  indexing.set_steps(9);
  EXPECT_EQ(words.Describe(indexing, now).text, "node building index 3 of 9: measurement_code_plan");
  ImportProgress keys;
  keys.set_phase(ImportProgress::PHASE_CHECKING_KEYS);
  keys.set_table("drug_exposure");
  keys.set_step(2);
  keys.set_steps(3);
  EXPECT_EQ(words.Describe(keys, now).text, "node checking person keys 2 of 3: drug_exposure");
  auto storing = words.Describe(Event(ImportProgress::PHASE_STORING, "", 0, 0, 5'000'000, 0), now);
  EXPECT_TRUE(storing.new_phase);
  EXPECT_EQ(storing.text, "node storing the dataset file: 5.0 MB") << "no total: no percentage";
  ImportProgress future;
  future.set_phase(static_cast<ImportProgress::Phase>(99));
  EXPECT_EQ(words.Describe(future, now).text, "node working");
}

}  // namespace
}  // namespace trenode::trectl
