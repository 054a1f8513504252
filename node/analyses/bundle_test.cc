// Bundles: what is accepted, and every way a bundle is refused, each with
// its exact message; extraction writes exactly the files inspected.
#include "node/analyses/bundle.h"

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/log/merkle.h"
#include "tests/testutil/bundles.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::analyses {
namespace {
using testing::ArchiveEntry;
using Kind = testing::ArchiveEntry::Kind;

constexpr char kManifest[] =
    "entry_point: \"run.py\"\ndatasets: \"synth-ehr-1\"\noutputs: \"counts.csv\"\n";

std::string WithExtra(const ArchiveEntry& extra) {
  return testing::TarGz({{"manifest.textproto", kManifest}, {"run.py", "print(1)\n"}, extra});
}

TEST(BundleTest, InspectsAValidBundleAndExtractsItsFiles) {
  std::string archive = testing::TarGz({{"./manifest.textproto", kManifest},
                                        {"lib", "", Kind::kDirectory},
                                        {"lib/util.py", "X = 1\n"},
                                        {"run.py", "print(1)\n"}});
  auto bundle = InspectBundle(archive);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->sha256(), absl::BytesToHexString(log::HashBytes(log::Sha256(archive))));
  EXPECT_EQ(bundle->size(), static_cast<int64_t>(archive.size()));
  EXPECT_EQ(bundle->manifest().entry_point(), "run.py");
  ASSERT_EQ(bundle->files_size(), 3);
  EXPECT_EQ(bundle->files(0).path(), "lib/util.py");
  EXPECT_EQ(bundle->files(0).size(), 6);

  testing::TempDir dir;
  ASSERT_TRUE(ExtractBundle(archive, dir.path().string()).ok());
  EXPECT_EQ(testing::ReadFile(dir.path() / "lib" / "util.py"), "X = 1\n");
  EXPECT_EQ(testing::ReadFile(dir.path() / "run.py"), "print(1)\n");
  EXPECT_EQ(BundleCommand(bundle->manifest()),
            (std::vector<std::string>{"/usr/bin/python3", "run.py"}));
}

TEST(BundleTest, RefusesEntriesThatCouldEscapeOrAreNotFiles) {
  struct Case {
    ArchiveEntry entry;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"../escape.py", "x"}, "bundle: entry \"../escape.py\" leaves the bundle (\"..\")"},
      {{"lib/../../escape.py", "x"},
       "bundle: entry \"lib/../../escape.py\" leaves the bundle (\"..\")"},
      {{"/etc/cron.d/x", "x"}, "bundle: entry \"/etc/cron.d/x\" is an absolute path"},
      {{"data.sqlite", "/srv/trenode/objects/datasets/other.sqlite", Kind::kSymlink},
       "bundle: entry \"data.sqlite\" is a symbolic link (to "
       "\"/srv/trenode/objects/datasets/other.sqlite\"); only files are allowed"},
      {{"copy.py", "run.py", Kind::kHardlink},
       "bundle: entry \"copy.py\" is a hard link; only files are allowed"},
      {{"pipe", "", Kind::kFifo}, "bundle: entry \"pipe\" is not a regular file"},
      {{"run.py", "again"}, "bundle: entry \"run.py\" appears twice"},
  };
  for (const Case& c : cases) {
    auto bundle = InspectBundle(WithExtra(c.entry));
    EXPECT_EQ(bundle.status().code(), absl::StatusCode::kInvalidArgument) << c.entry.path;
    EXPECT_EQ(bundle.status().message(), c.error);
    // Extraction refuses before writing anything.
    testing::TempDir dir;
    EXPECT_FALSE(ExtractBundle(WithExtra(c.entry), dir.path().string()).ok());
    EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << c.entry.path;
  }
}

TEST(BundleTest, RefusesOversizedBundlesAndCompressionBombs) {
  std::string archive = WithExtra({"big.bin", std::string(3 << 20, 'x')});
  BundleLimits small;
  small.max_archive_bytes = 1000;
  EXPECT_EQ(InspectBundle(archive, small).status().message(),
            absl::StrCat("bundle: ", archive.size(), " bytes, more than the limit of 1000"));
  EXPECT_EQ(InspectBundle(archive, small).status().code(), absl::StatusCode::kResourceExhausted);
  // 3 MiB of one byte compresses to a few KiB: the uncompressed limit holds.
  BundleLimits bomb;
  bomb.max_content_bytes = 1 << 20;
  EXPECT_LT(archive.size(), 100000u);
  EXPECT_EQ(InspectBundle(archive, bomb).status().message(),
            "bundle: its files hold more than 1048576 bytes uncompressed");
}

TEST(BundleTest, RefusesBadArchivesAndManifests) {
  struct Case {
    std::string archive, error;
  };
  const std::vector<Case> cases = {
      {"not an archive at all", "bundle: not a tar.gz archive: Unrecognized archive format"},
      {testing::TarGz({{"run.py", "print(1)"}}), "bundle: no manifest.textproto at its root"},
      {testing::TarGz({{"manifest.textproto", "entry_point: 7 7"}, {"run.py", ""}}),
       "bundle: manifest.textproto is not a trenode.v1.BundleManifest in protobuf text format "
       "(line 1:14: Expected string, got: 7)"},
      {testing::ScriptBundle("run.py", "", {"synth-ehr-1"}, {"out.csv"}).substr(0, 0) +
           testing::TarGz({{"manifest.textproto", kManifest}}),
       "bundle: manifest: entry_point \"run.py\" is not a file in the bundle"},
      {testing::ScriptBundle("run.R", "", {"synth-ehr-1"}, {"out.csv"}),
       "bundle: manifest: entry_point \"run.R\" must be a .py (python3) or .sh (sh) program"},
      {testing::ScriptBundle("run.py", "", {}, {"out.csv"}),
       "bundle: manifest: name the datasets the job reads"},
      {testing::ScriptBundle("run.py", "", {"synth-ehr-1"}, {"../out.csv"}),
       "bundle: manifest: output \"../out.csv\" is not a file name [A-Za-z0-9._-] (not starting "
       "with '.'), or twice"},
  };
  for (const Case& c : cases) {
    auto bundle = InspectBundle(c.archive);
    EXPECT_EQ(bundle.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(bundle.status().message(), c.error);
  }
}

TEST(BundleTest, MagnitudeStatisticsNameDeclaredMagnitudeTables) {
  auto with = [](const std::string& manifest) {
    return InspectBundle(testing::TarGz(
        {{"manifest.textproto", manifest}, {"run.py", "print(1)\n"}}));
  };
  const std::string base =
      "entry_point: \"run.py\" datasets: \"synth-ehr-1\" outputs: \"income.magnitude.csv\" "
      "outputs: \"n.counts.csv\" ";
  auto ok = with(base + "magnitude_statistics { key: \"income.magnitude.csv\" value: "
                        "MAGNITUDE_STATISTIC_MEAN }");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->manifest().magnitude_statistics().at("income.magnitude.csv"),
            trenode::v1::MAGNITUDE_STATISTIC_MEAN);
  for (const char* key : {"n.counts.csv", "other.magnitude.csv"}) {
    auto refused = with(base + absl::StrCat("magnitude_statistics { key: \"", key,
                                            "\" value: MAGNITUDE_STATISTIC_SUM }"));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_NE(refused.status().message().find("not an output named *.magnitude.csv"),
              std::string::npos)
        << refused.status();
  }
}

}  // namespace
}  // namespace trenode::analyses
