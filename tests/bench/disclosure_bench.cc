// trenode-disclosure-bench: cells checked per second by the disclosure rules
// (ACRO preset: threshold, zeros, (n,k) dominance, p%, same values) on a
// rows x columns magnitude table, against a baseline measured in the same
// run: one pass that only sums each cell's contributions. Goal: at least
// 1,000,000 cells/s on a 1,000 x 1,000 table.
//
// Then the cost of secondary suppression and its audit on square counts
// tables with about one small cell in five (--suppress-sizes, e.g. 20,40).
//
// usage: see kUsage.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "node/disclosure/suppression.h"
#include "node/disclosure/table.h"
#include "tests/bench/bench_flags.h"

namespace {

constexpr char kUsage[] =
    "usage: trenode-disclosure-bench [--rows N] [--columns N] [--rounds N]\n"
    "                                [--suppress-sizes N,N,...]\n"
    "Cells per second checked by the disclosure rules against only summing them, then\n"
    "the cost of secondary suppression on square counts tables.\n"
    "  --rows, --columns  shape of the magnitude table [1000 x 1000]\n"
    "  --rounds           rounds; the median is printed [3]\n"
    "  --suppress-sizes   sides of the suppressed tables [20,40,60]\n";

// "20,40" into {20, 40}; false unless every size is a whole number above zero.
bool ParseSizes(const std::string& text, std::vector<int64_t>* sizes) {
  sizes->clear();
  for (absl::string_view size_text : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t size;
    if (!absl::SimpleAtoi(size_text, &size) || size <= 0) return false;
    sizes->push_back(size);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1000, columns = 1000, rounds = 3;
  std::vector<int64_t> suppress_sizes = {20, 40, 60};
  if (auto exit_status = trenode::bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--rows", &rows},
           {"--columns", &columns},
           {"--rounds", &rounds},
           {"--suppress-sizes",
            [&](const std::string& text) { return ParseSizes(text, &suppress_sizes); }}})) {
    return *exit_status;
  }
  // Cells of 0 to 40 contributors with skewed values, as in income-like data.
  std::mt19937_64 random(42);
  std::vector<std::vector<int64_t>> contributions(rows * columns);
  trenode::disclosure::Table table;
  for (int64_t r = 0; r < rows; ++r) table.row_labels.push_back("r" + std::to_string(r));
  for (int64_t c = 0; c < columns; ++c) table.column_labels.push_back("c" + std::to_string(c));
  for (auto& cell : contributions) {
    cell.resize(random() % 41);
    for (int64_t& value : cell)
      value = static_cast<int64_t>(1 + (random() % 1000) * (random() % 100));
    table.cells.push_back(trenode::disclosure::MagnitudeFacts(cell));
  }
  trenode::disclosure::Policy policy = *trenode::disclosure::Preset("acro");

  std::vector<double> checked, summed;
  int64_t failures = 0, checksum = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    absl::Time start = absl::Now();
    trenode::disclosure::TableVerdict verdict = trenode::disclosure::CheckTable(table, policy);
    checked.push_back(absl::ToDoubleSeconds(absl::Now() - start));
    failures = 0;
    for (const auto& cell : verdict.cells)
      failures += cell.verdict != trenode::disclosure::Verdict::kPass;

    start = absl::Now();
    checksum = 0;
    for (const auto& cell : contributions) {
      for (int64_t value : cell) checksum += value;
    }
    summed.push_back(absl::ToDoubleSeconds(absl::Now() - start));
  }
  std::sort(checked.begin(), checked.end());
  std::sort(summed.begin(), summed.end());
  double cells = static_cast<double>(rows * columns);
  double check_rate = cells / checked[checked.size() / 2];
  double sum_rate = cells / summed[summed.size() / 2];
  std::printf("%lld x %lld magnitude table (%lld cells not passing; checksum %lld)\n",
              static_cast<long long>(rows), static_cast<long long>(columns),
              static_cast<long long>(failures), static_cast<long long>(checksum));
  std::printf(
      "rules checked: %.0f cells/s; summing contributions only: %.0f cells/s; "
      "ratio %.2f\n",
      check_rate, sum_rate, check_rate / sum_rate);
  for (int64_t size : suppress_sizes) {
    trenode::disclosure::Table counts;
    for (int64_t r = 0; r < size; ++r) counts.row_labels.push_back("r" + std::to_string(r));
    for (int64_t c = 0; c < size; ++c) counts.column_labels.push_back("c" + std::to_string(c));
    for (int64_t i = 0; i < size * size; ++i) {
      trenode::disclosure::CellFacts cell;
      cell.contributors = random() % 5 == 0 ? static_cast<int64_t>(random() % 10)
                                            : static_cast<int64_t>(10 + random() % 200);
      counts.cells.push_back(cell);
    }
    auto verdict = trenode::disclosure::CheckTable(counts, policy);
    absl::Time start = absl::Now();
    auto protection = trenode::disclosure::Suppress(counts, verdict);
    double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (!protection.ok()) {
      std::printf("suppression of %lld x %lld: %s\n", static_cast<long long>(size),
                  static_cast<long long>(size), protection.status().ToString().c_str());
      return 1;
    }
    int64_t suppressed = 0;
    for (bool s : protection->suppressed) suppressed += s;
    std::printf(
        "suppression and audit of a %lld x %lld counts table: %lld cells suppressed in "
        "%.3f s\n",
        static_cast<long long>(size), static_cast<long long>(size),
        static_cast<long long>(suppressed), seconds);
  }
  return failures > 0 ? 0 : 1;  // a table this random must have failing cells
}
