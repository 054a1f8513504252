// trenode-import-bench: what reporting an import's progress costs. Generates
// one synthetic site, then builds its dataset file `--rounds` times each way,
// alternately (silent first in odd rounds, reporting first in even ones, so
// drift in the machine's load falls on both): silent (no reporter, as
// BuildDatasetFile runs for the query bench) and reporting (an
// ImportProgressReporter whose sink serialises every event, as the RPC's sink
// does before writing it). Prints each build's wall and CPU time (the
// process's, all threads: steadier than wall time on a shared machine), the
// medians, their ratios (reporting / silent; the goal is within noise of
// 1.00) and how many events one reporting build sent. Exits 1 if a build fails, 2 on a bad command
// line.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/onprem/posix_object_store.h"
#include "node/ingest/dataset_builder.h"
#include "node/synth/generator.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/throughput.h"
#include "tests/testutil/temp_dir.h"

namespace {
using trenode::bench::Median;

constexpr char kUsage[] =
    "usage: trenode-import-bench [--persons N] [--rounds N] [--site DIR] [--silent-only 1]\n"
    "                            [--help]\n"
    "\n"
    "Generates a synthetic site of N persons (default 1000000) and builds its dataset\n"
    "file --rounds times (default 3) silently and as many times reporting progress,\n"
    "alternately; prints the median of each and their ratio.\n"
    "  --site DIR       read the site's CSV files from DIR/site (generating them there\n"
    "                   first if DIR/site does not exist) and build into DIR: large sites\n"
    "                   are generated once; the built file is removed after each round.\n"
    "  --silent-only 1  build silently only (no reporting builds): for profiling and for\n"
    "                   the import's throughput and peak memory.\n"
    "  --phases 1       report progress in every build and print the wall and CPU seconds\n"
    "                   of each phase (and table or index) of each build.\n"
    "  --keep 1         with --site: keep the last build's DIR/site.sqlite and write its\n"
    "                   entry to DIR/dataset.binpb, the layout trenode-query-bench --site\n"
    "                   reuses (DIR = its SITE/persons-N).\n";

// CPU seconds this process has used, all threads.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t persons = 1000000;
  int rounds = 3;
  int silent_only = 0;
  int phases = 0;
  int keep = 0;
  std::string site_dir;
  if (auto exit_status = trenode::bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--persons", &persons},
           {"--rounds", &rounds, 1, 100},
           {"--silent-only", &silent_only, 0, 1},
           {"--phases", &phases, 0, 1},
           {"--keep", &keep, 0, 1},
           {"--site", [&](const std::string& value) {
              site_dir = value;
              return !value.empty();
            }}})) {
    return *exit_status;
  }
  trenode::testing::TempDir temporary;
  const std::filesystem::path folder =
      site_dir.empty() ? temporary.path() : std::filesystem::path(site_dir);
  auto file = [&](const char* name) { return (folder / name).string(); };
  const trenode::synth::SynthOptions site{11, persons};
  absl::Time start = absl::Now();
  if (site_dir.empty() || !std::filesystem::exists(folder / "site")) {
    if (absl::Status generated = trenode::synth::GenerateSite(site, file("site"));
        !generated.ok()) {
      std::fprintf(stderr, "generate: %s\n", generated.ToString().c_str());
      return 1;
    }
    std::filesystem::remove(folder / "site" / "dataset.textproto");
    std::printf("site of %lld persons generated in %.1f s\n", static_cast<long long>(persons),
                absl::ToDoubleSeconds(absl::Now() - start));
  } else {
    std::printf("site of %lld persons read from %s\n", static_cast<long long>(persons),
                file("site").c_str());
  }
  auto source = trenode::adapters::PosixObjectStore::Open(folder / "site");
  if (!source.ok()) return 1;

  std::vector<double> silent, reporting, silent_cpu, reporting_cpu;
  int64_t events = 0;
  std::string wire;
  // One build; false if it failed.
  int builds_left = silent_only ? rounds : 2 * rounds;
  auto build = [&](bool report) {
    const std::string output = file("site.sqlite");
    std::filesystem::remove(output);
    int64_t heard = 0;
    // Each step (phase, table, index) seen, with the wall and CPU time it began.
    struct Step {
      std::string name;
      absl::Time wall;
      double cpu;
    };
    std::vector<Step> steps;
    trenode::ingest::ImportProgressReporter reporter([&](const trenode::v1::ImportProgress& event) {
      event.SerializeToString(&wire);
      ++heard;
      if (!phases) return;
      std::string name = absl::StrCat(trenode::v1::ImportProgress::Phase_Name(event.phase()), " ",
                                      event.table(), " ", event.index());
      if (steps.empty() || steps.back().name != name) {
        steps.push_back({std::move(name), absl::Now(), CpuSeconds()});
      }
    });
    const bool listen = report || phases;
    const absl::Time began = absl::Now();
    const double cpu_began = CpuSeconds();
    auto built = trenode::ingest::BuildDatasetFile(**source, trenode::synth::SiteMetadata(site),
                                                   output, listen ? &reporter : nullptr);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - began);
    const double cpu = CpuSeconds() - cpu_began;
    if (!built.ok()) {
      std::fprintf(stderr, "import: %s\n", built.status().ToString().c_str());
      return false;
    }
    (report ? reporting : silent).push_back(seconds);
    (report ? reporting_cpu : silent_cpu).push_back(cpu);
    if (report) events = heard;
    if (keep && !site_dir.empty() && --builds_left == 0) {
      std::ofstream kept(file("dataset.binpb"), std::ios::binary);
      built->SerializeToOstream(&kept);
    } else {
      std::filesystem::remove(output);
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      const absl::Time end = i + 1 < steps.size() ? steps[i + 1].wall : began + absl::Seconds(seconds);
      const double cpu_end = i + 1 < steps.size() ? steps[i + 1].cpu : cpu_began + cpu;
      std::printf("    %6.2f s wall %6.2f s CPU  %s\n", absl::ToDoubleSeconds(end - steps[i].wall),
                  cpu_end - steps[i].cpu, steps[i].name.c_str());
    }
    std::printf("  %-9s %.2f s, CPU %.2f s%s\n", report ? "reporting" : "silent", seconds, cpu,
                report ? absl::StrCat(" (", heard, " events)").c_str() : "");
    std::fflush(stdout);
    return true;
  };
  for (int round = 0; round < rounds; ++round) {
    const bool reporting_first = round % 2 == 1;
    if (silent_only) {
      if (!build(false)) return 1;
      continue;
    }
    if (!build(reporting_first) || !build(!reporting_first)) return 1;
  }
  if (silent_only) {
    std::printf("import of %lld persons (median of %d): wall %.2f s (%.0f persons/s), CPU %.2f s\n",
                static_cast<long long>(persons), rounds, Median(silent), persons / Median(silent),
                Median(silent_cpu));
    return 0;
  }
  const double silent_median = Median(silent), reporting_median = Median(reporting);
  const double silent_cpu_median = Median(silent_cpu);
  const double reporting_cpu_median = Median(reporting_cpu);
  std::printf(
      "import of %lld persons (median of %d): wall silent %.2f s, reporting %.2f s, "
      "ratio %.3f; CPU silent %.2f s, reporting %.2f s, ratio %.3f; %lld events\n",
      static_cast<long long>(persons), rounds, silent_median, reporting_median,
      reporting_median / silent_median, silent_cpu_median, reporting_cpu_median,
      reporting_cpu_median / silent_cpu_median, static_cast<long long>(events));
  return 0;
}
