// Release files from analysis outputs: what is published under each policy,
// and the hard gates on script outputs.
#include "node/releases/release_files.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace trenode::releases {
namespace {

trenode::v1::AggregateResult Counts(const std::vector<std::pair<std::string, int64_t>>& cells) {
  trenode::v1::AggregateResult result;
  auto* table = result.add_tables();
  table->set_output("by_group");
  table->set_kind(trenode::v1::OUTPUT_KIND_COUNTS);
  table->add_group_columns("group");
  for (const auto& [label, count] : cells) {
    auto* cell = table->add_cells();
    cell->add_group(label);
    cell->set_count(count);
  }
  return result;
}

TEST(ReleaseFilesTest, OpensafelyRedactsRoundsAndSumsWhatIsPublished) {
  auto files = AggregateFiles(Counts({{"a", 3}, {"b", 8}, {"c", 12}, {"d", 27}, {"e", 7}}), nullptr,
                              *disclosure::Preset("opensafely"));
  ASSERT_EQ(files.size(), 1u);
  // 3 and 7 are at most 7: redacted; 8 -> 10, 12 -> 10, 27 -> 25; the total
  // is the sum of those, never the true 57.
  EXPECT_EQ(files[0].bytes, "group,count\na,\nb,10\nc,10\nd,25\ne,\nTotal,45\n");
  EXPECT_EQ(files[0].meta.verdict(), "pass");
  EXPECT_TRUE(absl::StartsWith(files[0].meta.verdict_summary(),
                               "pass after redaction and rounding: 2 cells at or below 7"));
}

TEST(ReleaseFilesTest, AcroSuppressesWithComplementaryCellsAgainstTheTotal) {
  auto files = AggregateFiles(Counts({{"a", 40}, {"b", 3}, {"c", 25}, {"d", 18}}), nullptr,
                              *disclosure::Preset("acro"));
  // 3 fails; alone it could be recovered from the total, so 18 goes too.
  EXPECT_EQ(files[0].bytes, "group,count\na,40\nb,\nc,25\nd,\nTotal,86\n");
  EXPECT_EQ(files[0].meta.verdict(), "pass");
  auto small = AggregateFiles(Counts({{"a", 4}, {"b", 3}}), nullptr, *disclosure::Preset("acro"));
  EXPECT_EQ(small[0].meta.verdict(), "fail");  // the total, 7, is itself too small
}

TEST(ReleaseFilesTest, ScriptOutputsMeetTheHardGates) {
  HardGates gates;
  gates.max_file_bytes = 100;
  gates.max_csv_rows = 2;
  disclosure::Policy acro = *disclosure::Preset("acro");
  EXPECT_EQ(ScriptFile("plot.png", "x", gates, acro).meta.gate_failures(0),
            "files of type \"png\" may not leave (allowed: csv, json, txt)");
  EXPECT_EQ(ScriptFile("big.txt", std::string(101, 'x'), gates, acro).meta.gate_failures(0),
            "larger than the limit of 100 bytes");
  EXPECT_EQ(ScriptFile("rows.csv", "a\n1\n2\n3\n", gates, acro).meta.gate_failures(0),
            "more rows than the limit of 2");
  EXPECT_EQ(ScriptFile("ids.csv", "NHS_Number,x\n1,2\n", gates, acro).meta.gate_failures(0),
            "column \"nhs_number\" looks like a person identifier");
  CandidateFile counts = ScriptFile("t.counts.csv", "sex,n\nF,12\nM,4\n", gates, acro);
  EXPECT_TRUE(counts.meta.gate_failures().empty());
  EXPECT_EQ(counts.meta.verdict(), "fail");
  EXPECT_EQ(counts.meta.verdict_summary(), "fail; threshold: 1 cell may need suppressing; ");
  EXPECT_EQ(ScriptFile("notes.txt", "hello", gates, acro).meta.verdict(), "review");
  // A declared magnitude table: each cell lists its contributions.
  CandidateFile income = ScriptFile("income.magnitude.csv",
                                    "region,income\nNorth,100;50;5;5;1;1;1;1;1;1\n", gates, acro);
  EXPECT_EQ(income.meta.verdict(), "fail");
  EXPECT_EQ(income.meta.verdict_summary(), "fail; nk-rule: 1 cell may need suppressing; ");
  EXPECT_EQ(ScriptFile("bad.counts.csv", "sex,n\nF,lots\n", gates, acro).meta.gate_failures(0),
            "declared a counts table but is not one: bad.counts.csv line 2 column n: \"lots\" is "
            "not a count (a whole number >= 0)");
}

// The gates read CSV as a checker's tools would (RFC 4180): a quoted header
// or CR line endings do not slip past them, and what is not CSV fails.
TEST(ReleaseFilesTest, HardGatesReadCsvLikeEveryOtherReader) {
  HardGates gates;
  gates.max_csv_rows = 2;
  disclosure::Policy acro = *disclosure::Preset("acro");
  EXPECT_EQ(ScriptFile("ids.csv", "\"person_id\",x\n1,2\n", gates, acro).meta.gate_failures(0),
            "column \"person_id\" looks like a person identifier");
  EXPECT_EQ(ScriptFile("ids.csv", "x,\"NHS_number\"\r\n1,2\r\n", gates, acro)
                .meta.gate_failures(0),
            "column \"nhs_number\" looks like a person identifier");
  EXPECT_EQ(ScriptFile("rows.csv", "a\r1\r2\r3\r", gates, acro).meta.gate_failures(0),
            "more rows than the limit of 2");
  // A newline inside a quoted field is one row, not two.
  EXPECT_TRUE(
      ScriptFile("notes.csv", "a,b\n\"x\ny\",1\n2,3\n", gates, acro).meta.gate_failures().empty());
  EXPECT_EQ(ScriptFile("bad.csv", "a,b\n\"open,1\n", gates, acro).meta.gate_failures(0).substr(0, 32),
            "not well-formed CSV (RFC 4180): ");
}

}  // namespace
}  // namespace trenode::releases
