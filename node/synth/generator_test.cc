#include "node/synth/generator.h"

#include "adapters/onprem/posix_object_store.h"
#include "gtest/gtest.h"
#include "node/ingest/dataset_builder.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::synth {
namespace {

TEST(SynthTest, SameSeedSameBytesOtherSeedOtherData) {
  testing::TempDir dir;
  ASSERT_TRUE(GenerateSite({7, 500}, dir.File("a")).ok());
  ASSERT_TRUE(GenerateSite({7, 500}, dir.File("b")).ok());
  ASSERT_TRUE(GenerateSite({8, 500}, dir.File("c")).ok());
  for (const char* file : {"person.csv", "condition_occurrence.csv", "drug_exposure.csv",
                           "measurement.csv", "dataset.textproto"}) {
    EXPECT_EQ(testing::ReadFile(dir.path() / "a" / file),
              testing::ReadFile(dir.path() / "b" / file))
        << file;
  }
  EXPECT_NE(testing::ReadFile(dir.path() / "a" / "person.csv"),
            testing::ReadFile(dir.path() / "c" / "person.csv"));
}

// The generated site must pass the node's own import checks against its own
// declared metadata, and carry the heart-failure signal the demo is about.
TEST(SynthTest, ImportsCleanlyAndHoldsUndiagnosedHeartFailure) {
  testing::TempDir dir;
  const SynthOptions options{3, 20000};
  ASSERT_TRUE(GenerateSite(options, dir.File("site")).ok());
  std::filesystem::remove(dir.path() / "site" / "dataset.textproto");
  auto source = *adapters::PosixObjectStore::Open(dir.path() / "site");
  auto built = ingest::BuildDatasetFile(*source, SiteMetadata(options), dir.File("site.sqlite"));
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->steward().exact_person_count(), options.persons);

  auto db = *storage::SqliteDb::Open(dir.File("site.sqlite"), storage::SqliteDb::Mode::kReadOnly);
  auto counts = *db->Prepare(R"sql(
    WITH hf AS (SELECT DISTINCT person_id FROM condition_occurrence
                WHERE condition_code LIKE 'I50%'),
         low AS (SELECT DISTINCT person_id FROM measurement
                 WHERE measurement_code = '250908004' AND value_as_number < 40)
    SELECT (SELECT COUNT(*) FROM hf),
           (SELECT COUNT(*) FROM low WHERE person_id NOT IN (SELECT person_id FROM hf)),
           (SELECT COUNT(*) FROM low WHERE person_id IN (SELECT person_id FROM hf)))sql");
  ASSERT_TRUE(*counts.Step());
  int64_t diagnosed = counts.Int64(0);
  int64_t undiagnosed_reduced = counts.Int64(1);
  int64_t diagnosed_reduced = counts.Int64(2);
  EXPECT_GT(diagnosed, options.persons / 100);  // more than 1%
  EXPECT_LT(diagnosed, options.persons / 10);   // less than 10%
  EXPECT_GT(undiagnosed_reduced, 20);
  EXPECT_LT(undiagnosed_reduced, diagnosed_reduced);
}

}  // namespace
}  // namespace trenode::synth
