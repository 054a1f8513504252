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
    "usage: trenode-import-bench [--persons N] [--rounds N] [--help]\n"
    "\n"
    "Generates a synthetic site of N persons (default 1000000) and builds its dataset\n"
    "file --rounds times (default 3) silently and as many times reporting progress,\n"
    "alternately; prints the median of each and their ratio.\n";

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
  if (auto exit_status = trenode::bench::ParseBenchFlags(
          argc, argv, kUsage, {{"--persons", &persons}, {"--rounds", &rounds, 1, 100}})) {
    return *exit_status;
  }
  trenode::testing::TempDir dir;
  const trenode::synth::SynthOptions site{11, persons};
  absl::Time start = absl::Now();
  if (absl::Status generated = trenode::synth::GenerateSite(site, dir.File("site"));
      !generated.ok()) {
    std::fprintf(stderr, "generate: %s\n", generated.ToString().c_str());
    return 1;
  }
  std::filesystem::remove(dir.path() / "site" / "dataset.textproto");
  std::printf("site of %lld persons generated in %.1f s\n", static_cast<long long>(persons),
              absl::ToDoubleSeconds(absl::Now() - start));
  auto source = trenode::adapters::PosixObjectStore::Open(dir.path() / "site");
  if (!source.ok()) return 1;

  std::vector<double> silent, reporting, silent_cpu, reporting_cpu;
  int64_t events = 0;
  std::string wire;
  // One build; false if it failed.
  auto build = [&](bool report) {
    const std::string output = dir.File("site.sqlite");
    std::filesystem::remove(output);
    int64_t heard = 0;
    trenode::ingest::ImportProgressReporter reporter([&](const trenode::v1::ImportProgress& event) {
      event.SerializeToString(&wire);
      ++heard;
    });
    const absl::Time began = absl::Now();
    const double cpu_began = CpuSeconds();
    auto built = trenode::ingest::BuildDatasetFile(**source, trenode::synth::SiteMetadata(site),
                                                   output, report ? &reporter : nullptr);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - began);
    const double cpu = CpuSeconds() - cpu_began;
    if (!built.ok()) {
      std::fprintf(stderr, "import: %s\n", built.status().ToString().c_str());
      return false;
    }
    (report ? reporting : silent).push_back(seconds);
    (report ? reporting_cpu : silent_cpu).push_back(cpu);
    if (report) events = heard;
    std::printf("  %-9s %.2f s, CPU %.2f s%s\n", report ? "reporting" : "silent", seconds, cpu,
                report ? absl::StrCat(" (", heard, " events)").c_str() : "");
    std::fflush(stdout);
    return true;
  };
  for (int round = 0; round < rounds; ++round) {
    const bool reporting_first = round % 2 == 1;
    if (!build(reporting_first) || !build(!reporting_first)) return 1;
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
