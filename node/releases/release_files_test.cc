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

TEST(ReleaseFilesTest, APooledTablesWithheldGroupsArePublishedEmptyAndOutOfTheTotal) {
  trenode::v1::AggregateResult pooled = Counts({{"F", 150}, {"M", 136}});
  pooled.mutable_tables(0)->add_withheld()->add_group("X");
  auto files = AggregateFiles(pooled, nullptr, *disclosure::Preset("acro"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].bytes, "group,count\nF,150\nM,136\nX,\nTotal,286\n");
  EXPECT_TRUE(files[0].suppressed);
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

// What the rules passed is exactly what leaves (spec/releases.md, "Files").
TEST(ReleaseFilesTest, DeclaredTablesPublishWhatTheRulesJudged) {
  HardGates gates;
  disclosure::Policy acro = *disclosure::Preset("acro");
  // A magnitude table leaves as the aggregate of each cell, never its
  // contributions.
  const std::string contributions =
      "region,income\nNorth,100;50;5;5;1;1;1;1;1;1\nSouth,20;20;20;20;20;20;20;20;20;20.5\n";
  CandidateFile sum = ScriptFile("income.magnitude.csv", contributions, gates, acro);
  EXPECT_EQ(sum.bytes, "region,income (sum)\nNorth,166\nSouth,200.5\n");
  EXPECT_EQ(sum.bytes.find("100;50"), std::string::npos);
  EXPECT_EQ(sum.meta.sha256().size(), 64u);
  EXPECT_EQ(sum.meta.size(), static_cast<int64_t>(sum.bytes.size()));
  CandidateFile mean = ScriptFile("income.magnitude.csv", contributions, gates, acro,
                                  trenode::v1::MAGNITUDE_STATISTIC_MEAN);
  EXPECT_EQ(mean.bytes, "region,income (mean)\nNorth,16.6\nSouth,20.05\n");
  // Totals in a magnitude table would leave unjudged: refused.
  EXPECT_NE(ScriptFile("m.magnitude.csv", contributions + "Total,366.5\n", gates, acro)
                .meta.gate_failures(0)
                .find("leave out totals"),
            std::string::npos);
  // A counts table's Total row was skipped whatever it held: now it must
  // be the sum of its column, and it is judged like every cell.
  CandidateFile lying = ScriptFile("t.counts.csv", "sex,n\nF,12\nM,14\nTotal,3\n", gates, acro);
  ASSERT_EQ(lying.meta.gate_failures_size(), 1);
  EXPECT_NE(lying.meta.gate_failures(0).find("the Total row says 3 for column \"n\", but its "
                                             "cells add up to 26"),
            std::string::npos)
      << lying.meta.gate_failures(0);
  CandidateFile with_total =
      ScriptFile("t.counts.csv", "sex,n\nF,2\nM,1\nTotal,3\n", gates, acro);
  EXPECT_TRUE(with_total.meta.gate_failures().empty());
  EXPECT_EQ(with_total.meta.verdict_summary(), "fail; threshold: 3 cells may need suppressing; ");
  // A Total column too, and the grand total.
  CandidateFile crosstab = ScriptFile(
      "x.counts.csv", "age,F,M,Total\n<50,20,30,50\n50+,40,45,85\nTotal,60,75,135\n", gates,
      acro);
  EXPECT_TRUE(crosstab.meta.gate_failures().empty());
  EXPECT_EQ(crosstab.table.cells.size(), 9u);
  EXPECT_EQ(crosstab.meta.verdict(), "pass");
  EXPECT_NE(ScriptFile("x.counts.csv", "age,F,M,Total\n<50,20,30,50\n50+,40,45,84\n", gates,
                       acro)
                .meta.gate_failures(0)
                .find("the Total column says 84 for row \"50+\", but its cells add up to 85"),
            std::string::npos);
  // Undeclared CSVs are for a checker, who is told their shape.
  CandidateFile plain = ScriptFile("plain.csv", "a,b\n1,2\n3,-4.5\n", gates, acro);
  EXPECT_EQ(plain.meta.verdict(), "review");
  EXPECT_EQ(plain.meta.verdict_summary(),
            "review; not checked automatically (not declared *.counts.csv or *.magnitude.csv): "
            "2 rows, 2 columns, smallest number -4.5; an output checker must judge it");
}

}  // namespace
}  // namespace trenode::releases
