// trenode-ledger-bench: the cost of the disclosure controls that work on
// persons (spec/disclosure.md), each against a baseline measured in the
// same run.
//
// 1. The overlap audit of a new table of --cells cells against a project
//    ledger of --tables released tables of the same shape, over a site of
//    --persons persons (each table a random partition of them), in the
//    node's SQLite ledger. Baseline: the same audit without the sketch
//    filter (every cell within the size window is read and compared), per
//    cell over the first ten cells.
//    Goal: under 1 s for 1,000 cells, 100 tables, 1,000,000 persons.
// 2. Cell-key perturbation of a --side x --side table of counts: each
//    cell's key from its persons' record keys, then its published count.
//    Baseline: counting the same persons into the same cells.
//    Goal: under 0.5 s for 1,000 x 1,000.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "node/disclosure/cell_key.h"
#include "node/query/person_sets.h"
#include "node/releases/ledger_store.h"
#include "node/releases/overlap_audit.h"
#include "node/storage/node_schema.h"
#include "tests/bench/bench_flags.h"
#include "tests/testutil/temp_dir.h"

namespace {
using trenode::query::PersonSet;
using trenode::releases::LedgerCell;

constexpr char kUsage[] =
    "usage: trenode-ledger-bench [--persons N] [--tables N] [--cells N] [--side N]\n"
    "  --persons  persons of the site [1000000]\n"
    "  --tables   released tables in the project's ledger [100]\n"
    "  --cells    cells of each table, and of the new one [1000]\n"
    "  --side     rows and columns of the perturbed table [1000]\n";

double Seconds(absl::Time start) { return absl::ToDoubleSeconds(absl::Now() - start); }

// A random partition of persons 1..persons into `cells` cells.
std::vector<PersonSet> Partition(int64_t persons, int64_t cells, std::mt19937_64& random) {
  std::vector<PersonSet> partition(cells);
  for (int64_t p = 1; p <= persons; ++p) {
    partition[random() % cells].push_back(static_cast<uint32_t>(p));
  }
  return partition;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t persons = 1000000, tables = 100, cells = 1000, side = 1000;
  if (auto exit_status = trenode::bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--persons", &persons}, {"--tables", &tables}, {"--cells", &cells}, {"--side", &side}})) {
    return *exit_status;
  }
  std::mt19937_64 random(20261201);

  // 1. The overlap audit.
  trenode::testing::TempDir dir;
  auto pool = trenode::storage::SqlitePool::Open(dir.File("node.db"), 2,
                                                 trenode::storage::NodeSchemaMigrations());
  if (!pool.ok()) {
    std::fprintf(stderr, "%s\n", pool.status().ToString().c_str());
    return 1;
  }
  trenode::releases::SqliteLedgerStore ledger(pool->get());
  absl::Time start = absl::Now();
  for (int64_t t = 0; t < tables; ++t) {
    std::string release = absl::StrCat("r-", t);
    std::vector<LedgerCell> recorded;
    std::vector<PersonSet> partition = Partition(persons, cells, random);
    for (int64_t c = 0; c < cells; ++c) {
      recorded.push_back({0, release, "t.csv", absl::StrCat("cell ", c),
                          trenode::releases::LedgerKind::kCount, false, std::move(partition[c])});
    }
    if (!ledger.Record("p", "d", recorded).ok() || !ledger.MarkReleased(release, {"t.csv"}).ok()) {
      std::fprintf(stderr, "recording the ledger failed\n");
      return 1;
    }
  }
  std::printf("ledger of %lld tables x %lld cells over %lld persons written in %.1f s\n",
              static_cast<long long>(tables), static_cast<long long>(cells),
              static_cast<long long>(persons), Seconds(start));
  std::vector<LedgerCell> fresh;
  {
    std::vector<PersonSet> partition = Partition(persons, cells, random);
    for (int64_t c = 0; c < cells; ++c) {
      fresh.push_back({0, "r-new", "new.csv", absl::StrCat("cell ", c),
                       trenode::releases::LedgerKind::kCount, false, std::move(partition[c])});
    }
    // One planted tracker: a released cell less three persons.
    auto planted = ledger.OfRelease("r-0");
    if (!planted.ok() || planted->empty()) return 1;
    fresh[0].persons = (*planted)[0].persons;
    fresh[0].persons.resize(fresh[0].persons.size() - 3);
  }
  start = absl::Now();
  auto findings = trenode::releases::AuditOverlap(ledger, "d", fresh, 10,
                                                  trenode::releases::WithinRelease::kMagnitudes);
  double audit = Seconds(start);
  if (!findings.ok() || findings->size() != 1 || findings->front().difference != 3) {
    std::fprintf(stderr, "the overlap audit missed the planted tracker\n");
    return 1;
  }
  // Baseline: every released cell within the size window read and compared,
  // for the first few cells (all of them would take minutes).
  const size_t sampled = std::min<size_t>(fresh.size(), 10);
  start = absl::Now();
  auto released = ledger.Standing("d", "r-new");
  int64_t compared = 0, close = 0;
  for (size_t i = 0; i < sampled; ++i) {
    const LedgerCell& cell = fresh[i];
    const int64_t size = static_cast<int64_t>(cell.persons.size());
    for (const auto& entry : *released) {
      if (entry.size <= size - 10 || entry.size >= size + 10) continue;
      auto other = ledger.Persons(entry.id);
      ++compared;
      int64_t difference = trenode::query::SymmetricDifferenceBelow(cell.persons, *other, 10);
      close += difference > 0 && difference < 10;
    }
  }
  double naive = Seconds(start) / static_cast<double>(sampled);
  double per_cell = audit / static_cast<double>(fresh.size());
  std::printf(
      "overlap audit of a %lld-cell table: %.3f s (goal < 1 s), %.3f ms a cell; without the "
      "sketch filter: %.3f ms a cell (%lld sets read for %zu cells); ratio %.4f; trackers "
      "found %zu (%lld in the sample)\n",
      static_cast<long long>(cells), audit, per_cell * 1e3, naive * 1e3,
      static_cast<long long>(compared), sampled, per_cell / naive, findings->size(),
      static_cast<long long>(close));

  // 2. Cell-key perturbation of a side x side table.
  const int64_t table_cells = side * side;
  const int64_t table_persons = std::max<int64_t>(persons, table_cells * 5);
  std::vector<uint32_t> cell_of(table_persons), record_key(table_persons);
  for (int64_t p = 0; p < table_persons; ++p) {
    cell_of[p] = static_cast<uint32_t>(random() % table_cells);
    record_key[p] = static_cast<uint32_t>(random());
  }
  start = absl::Now();
  std::vector<int64_t> counts(table_cells, 0);
  for (int64_t p = 0; p < table_persons; ++p) ++counts[cell_of[p]];
  double counting = Seconds(start);
  start = absl::Now();
  std::vector<int64_t> totals(table_cells, 0);
  std::vector<uint64_t> keys(table_cells, 0);
  for (int64_t p = 0; p < table_persons; ++p) {
    ++totals[cell_of[p]];
    keys[cell_of[p]] += record_key[p];
  }
  int64_t changed = 0;
  for (int64_t c = 0; c < table_cells; ++c) {
    int64_t published =
        trenode::disclosure::PerturbedCount(totals[c], trenode::disclosure::CellKeyOf(keys[c]));
    changed += published != totals[c];
  }
  double perturbing = Seconds(start);
  std::printf(
      "cell-key perturbation of a %lld x %lld table (%lld persons): %.3f s (goal < 0.5 s); "
      "counting only: %.3f s; ratio %.2f; %.0f%% of cells changed\n",
      static_cast<long long>(side), static_cast<long long>(side),
      static_cast<long long>(table_persons), perturbing, counting, perturbing / counting,
      100.0 * static_cast<double>(changed) / static_cast<double>(table_cells));
  return counts == totals ? 0 : 1;
}
