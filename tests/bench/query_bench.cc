// trenode-query-bench: the node's compiled aggregate queries against the same
// questions written by hand in SQL through the sqlite3 library, on one
// synthetic site, measured alternately in the same run (each round in another
// order); prints each median and the ratio (node / hand; the goal is at most
// 1.1), and checks that both give
// the same answer (counts exactly, sums and fits to 1e-9 relative). With
// --duckdb, DuckDB answers the same questions from the site's CSV files as a
// yardstick (tests/bench/duckdb; run `npm ci` there first). Exits 1 if any
// answer differs, 2 on a bad command line.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "adapters/onprem/posix_object_store.h"
#include "google/protobuf/text_format.h"
#include "node/ingest/dataset_builder.h"
#include "node/query/compiler.h"
#include "node/query/person_codes.h"
#include "node/query/runner.h"
#include "node/synth/generator.h"
#include "tests/bench/duckdb_yardstick.h"
#include "tests/bench/query_bench_cases.h"
#include "tests/testutil/temp_dir.h"

namespace {
using trenode::bench::Agreement;
using trenode::bench::Answer;
using trenode::bench::BenchCase;
using trenode::bench::SqlRow;
using trenode::storage::SqliteDb;
using trenode::storage::SqliteStatement;

constexpr char kUsage[] =
    "usage: trenode-query-bench [--persons N] [--rounds N] [--duckdb] [--site DIR]\n"
    "                           [--only TEXT] [--plan] [--help]\n"
    "\n"
    "Generates a synthetic site of N persons (default 1000000), imports it as the node\n"
    "does, and runs each question N rounds (default 5) as the node's compiled aggregate\n"
    "query and as hand-written SQLite SQL, alternately (each round in another order);\n"
    "prints the medians, the ratio\n"
    "node / hand-written and whether the answers agree (exit status 1 if any differs);\n"
    "also the SQLite floor: stepping the node's own statements while reading nothing,\n"
    "the least a per-person plan over the file can take (node/floor is the node's own\n"
    "work on top).\n"
    "  --duckdb  also answer each question with DuckDB (2 threads) from the site's CSV\n"
    "            files, as a yardstick: needs Node.js and `npm ci` in tests/bench/duckdb.\n";

struct Options {
  int64_t persons = 1000000;
  int rounds = 5;
  bool duckdb = false;
  bool plan = false;
  std::string site;  // empty: a temporary folder
  std::string only;
};

// False, after saying why, if the command line is not understood.
bool ParseFlags(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--duckdb" || flag == "--plan") {
      (flag == "--duckdb" ? options.duckdb : options.plan) = true;
      continue;
    }
    if ((flag == "--site" || flag == "--only") && i + 1 < argc) {
      (flag == "--site" ? options.site : options.only) = argv[++i];
      continue;
    }
    bool numeric = flag == "--persons" || flag == "--rounds";
    bool ok = numeric && i + 1 < argc &&
              (flag == "--persons" ? absl::SimpleAtoi(argv[i + 1], &options.persons)
                                   : absl::SimpleAtoi(argv[i + 1], &options.rounds));
    if (!ok || options.persons < 1 || options.rounds < 1) {
      std::fprintf(stderr,
                   numeric || flag == "--site" || flag == "--only"
                       ? "trenode-query-bench: %s needs a value\n%s"
                           : "trenode-query-bench: unknown flag %s\n%s",
                   flag.c_str(), kUsage);
      return false;
    }
    ++i;
  }
  return true;
}

double Seconds(const std::function<void()>& run) {
  absl::Time start = absl::Now();
  run();
  return absl::ToDoubleSeconds(absl::Now() - start);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

SqlRow RowOf(const SqliteStatement& statement, int columns) {
  SqlRow row;
  for (int i = 0; i < columns; ++i) {
    switch (statement.TypeOf(i)) {
      case SqliteStatement::ValueType::kNull:
        row.emplace_back(std::monostate{});
        break;
      case SqliteStatement::ValueType::kInteger:
        row.emplace_back(statement.Int64(i));
        break;
      case SqliteStatement::ValueType::kReal:
        row.emplace_back(statement.Double(i));
        break;
      default:
        row.emplace_back(statement.Text(i));
        break;
    }
  }
  return row;
}

// A hand-written statement's width, from its shape.
int Columns(const BenchCase& c) {
  using trenode::bench::HandShape;
  const int k = c.groups;
  switch (c.shape) {
    case HandShape::kSummary:
      return k + 4;
    case HandShape::kRegression:
      return 1 + k + k * (k + 1) / 2 + 1 + k + 1;
    default:
      return k + 1;
  }
}

// The node's statement for `name` and SQLite's plan for it.
void PrintPlan(SqliteDb& db, const char* name, const trenode::query::Statement& statement) {
  std::printf("%s:\n  %s\n", name, statement.sql.c_str());
  auto explain = db.Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", statement.sql));
  if (!explain.ok()) return;
  // The statement may name only the first few of the values it shares.
  const size_t named = std::min(statement.params.size(),
                                static_cast<size_t>(explain->ParameterCount()));
  for (size_t i = 0; i < named; ++i) {
    std::visit([&](const auto& value) { explain->Bind(static_cast<int>(i + 1), value); },
               statement.params[i]);
  }
  while (*explain->Step()) std::printf("  plan: %s\n", std::string(explain->Text(3)).c_str());
}

struct Measured {
  const BenchCase* bench_case = nullptr;
  Answer node_answer;
  double node_seconds = 0, hand_seconds = 0, floor_seconds = 0;
};

// Steps every statement the node runs for `compiled` (the cohort pass or
// count, then each output's own pass; the lean ones, as the node runs them
// with this site's person columns in memory) to its end, reading only each
// row's first column: what SQLite alone takes to produce the rows the node
// reads, the least any per-person plan over this file can cost.
void ScanFloor(SqliteDb& db, const trenode::query::CompiledQuery& compiled) {
  std::vector<const trenode::query::Statement*> statements = {
      compiled.cohort_count ? &*compiled.cohort_count : &compiled.lean_persons};
  for (const auto& pass : compiled.value_passes) statements.push_back(&pass.lean);
  for (const trenode::query::Statement* statement : statements) {
    auto prepared = db.Prepare(statement->sql);
    if (!prepared.ok()) std::abort();
    const size_t named = std::min(statement->params.size(),
                                  static_cast<size_t>(prepared->ParameterCount()));
    for (size_t i = 0; i < named; ++i) {
      std::visit([&](const auto& value) { prepared->Bind(static_cast<int>(i + 1), value); },
                 statement->params[i]);
    }
    int64_t sink = 0;
    while (*prepared->Step()) sink += prepared->Int64(0);
    if (sink == -1) std::puts("");  // keeps the reads
  }
}

// DuckDB's answers and times against the node's; false if any answer differs.
bool CompareWithDuckDb(const std::vector<Measured>& measured, double imported,
                       const std::string& site_dir, const std::string& database, int rounds) {
  auto run = trenode::bench::RunDuckDb(site_dir, database, rounds);
  if (!run.ok()) {
    std::printf("DuckDB yardstick failed: %s\n", run.status().ToString().c_str());
    return false;
  }
  std::printf(
      "\nDuckDB %s (@duckdb/node-api, %d threads) loaded the CSV files in %.1f s; the node "
      "imported them in %.1f s (SQLite file with its indexes)\n",
      run->version.c_str(), run->threads, run->load_seconds, imported);
  std::printf("%-34s %9s %12s %10s %10s %12s  %s\n", "case", "node ms", "hand SQL ms",
              "DuckDB ms", "node/hand", "node/DuckDB", "DuckDB's answers");
  bool all_same = true;
  for (const Measured& m : measured) {
    const BenchCase& c = *m.bench_case;
    auto found = run->cases.find(c.name);
    std::string difference;
    Agreement agreement = Agreement::kCountsDiffer;
    double duck = 0;
    if (found == run->cases.end()) {
      difference = "not answered";
    } else {
      duck = found->second.median_seconds;
      agreement = trenode::bench::Compare(
          m.node_answer, trenode::bench::HandAnswer(c.shape, c.groups, found->second.rows),
          &difference);
    }
    all_same = all_same && agreement == Agreement::kSame;
    std::printf("%-34s %9.1f %12.1f %10.1f %10.2f %12.2f  %s%s%s\n", c.name,
                m.node_seconds * 1e3, m.hand_seconds * 1e3, duck * 1e3,
                m.node_seconds / m.hand_seconds, duck > 0 ? m.node_seconds / duck : 0.0,
                agreement == Agreement::kSame ? "same as the node's"
                                              : trenode::bench::AgreementText(agreement),
                difference.empty() || agreement == Agreement::kSame ? "" : ": ",
                agreement == Agreement::kSame ? "" : difference.c_str());
  }
  return all_same;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  Options options;
  if (!ParseFlags(argc, argv, options)) return 2;

  trenode::testing::TempDir temporary;
  const std::filesystem::path folder =
      options.site.empty() ? temporary.path()
                           : std::filesystem::path(options.site) /
                                 absl::StrCat("persons-", options.persons);
  auto file = [&](const char* name) { return (folder / name).string(); };
  const trenode::synth::SynthOptions site{11, options.persons};
  std::optional<trenode::v1::Dataset> dataset;
  double imported = 0;
  if (!options.site.empty()) {
    std::ifstream kept(file("dataset.binpb"), std::ios::binary);
    trenode::v1::Dataset entry;
    if (kept && entry.ParseFromIstream(&kept)) dataset = std::move(entry);
  }
  if (dataset) {
    std::printf("site of %lld persons reused from %s (import not measured)\n",
                static_cast<long long>(options.persons), folder.c_str());
  } else {
    std::filesystem::remove_all(folder / "site");
    std::filesystem::remove(folder / "site.sqlite");
    std::filesystem::create_directories(folder);
    absl::Time start = absl::Now();
    if (!trenode::synth::GenerateSite(site, file("site")).ok()) return 1;
    std::filesystem::remove(folder / "site" / "dataset.textproto");
    const double generated = absl::ToDoubleSeconds(absl::Now() - start);
    start = absl::Now();
    auto source = *trenode::adapters::PosixObjectStore::Open(folder / "site");
    auto built = trenode::ingest::BuildDatasetFile(*source, trenode::synth::SiteMetadata(site),
                                                   file("site.sqlite"));
    if (!built.ok()) {
      std::fprintf(stderr, "import failed: %s\n", built.status().ToString().c_str());
      return 1;
    }
    dataset = *std::move(built);
    imported = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("site of %lld persons generated in %.1f s, imported in %.1f s (%.0f persons/s)\n",
                static_cast<long long>(options.persons), generated, imported,
                options.persons / imported);
    if (!options.site.empty()) {
      std::ofstream kept(file("dataset.binpb"), std::ios::binary);
      dataset->SerializeToOstream(&kept);
    }
  }
  std::fflush(stdout);  // long runs: show progress when the output goes to a file
  auto db = *SqliteDb::Open(file("site.sqlite"), SqliteDb::Mode::kReadOnly);
  // As the node opens a query's connection (QueryRunning's defaults).
  if (!db->Exec("PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;").ok()) return 1;
  // The node numbers persons once per dataset version, before its first query.
  trenode::query::MemoryPersonRegistry registry;
  trenode::query::PersonCodesCache cache(&registry);
  const absl::Time coding = absl::Now();
  auto codes = cache.For(*dataset, file("site.sqlite"));
  if (!codes.ok()) {
    std::fprintf(stderr, "person codes: %s\n", codes.status().ToString().c_str());
    return 1;
  }
  // Once per dataset version, before its first query: the codes and the
  // person columns counts by person columns alone are answered from.
  std::printf("person codes and columns read in %.0f ms\n",
              absl::ToDoubleMilliseconds(absl::Now() - coding));

  absl::StatusOr<bool> person_rowids = trenode::query::FileHasPersonRowids(*db, *dataset);
  if (!person_rowids.ok()) return 1;
  const bool rowids = *person_rowids;
  int failures = 0;
  std::vector<Measured> measured;
  for (const BenchCase& c : trenode::bench::BenchCases()) {
    if (!absl::StrContains(c.name, options.only)) continue;
    trenode::v1::AggregateQuery query;
    if (!google::protobuf::TextFormat::ParseFromString(c.query, &query)) {
      std::fprintf(stderr, "%s: the query does not parse\n", c.name);
      return 1;
    }
    // Planned for the file's layout, as the node plans.
    trenode::query::CompileLimits limits;
    limits.person_rowids = rowids;
    auto compiled = trenode::query::CompileQuery(query, *dataset, limits);
    if (!compiled.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.name, compiled.status().ToString().c_str());
      return 1;
    }
    if (options.plan) {
      if (!compiled->cohort_count) PrintPlan(*db, c.name, compiled->lean_persons);
      for (const auto& pass : compiled->value_passes) {
        PrintPlan(*db, absl::StrCat(c.name, " (output ", pass.output, "'s own pass)").c_str(),
                  pass.lean);
      }
    }
    Measured m;
    m.bench_case = &c;
    std::vector<SqlRow> rows;
    std::vector<double> node_times, hand_times, floor_times;
    const std::function<void()> runs[] = {
        [&] {
          node_times.push_back(Seconds([&] {
            auto result = trenode::query::RunQuery(*db, *compiled, **codes);
            if (!result.ok()) std::abort();
            m.node_answer = trenode::bench::NodeAnswer(result->result);
          }));
        },
        [&] { floor_times.push_back(Seconds([&] { ScanFloor(*db, *compiled); })); },
        [&] {
          hand_times.push_back(Seconds([&] {
            auto statement = db->Prepare(c.sql);
            if (!statement.ok()) std::abort();
            rows.clear();
            while (*statement->Step()) rows.push_back(RowOf(*statement, Columns(c)));
          }));
        }};
    // Each round in another order: beyond the page cache, whatever runs
    // just after another finds the pages that one left, so none always
    // runs first.
    for (int round = 0; round < options.rounds; ++round) {
      for (int i = 0; i < 3; ++i) runs[(round + i) % 3]();
    }
    std::string difference;
    Agreement agreement = trenode::bench::Compare(
        m.node_answer, trenode::bench::HandAnswer(c.shape, c.groups, rows), &difference);
    failures += agreement != Agreement::kSame;
    m.node_seconds = Median(node_times);
    m.hand_seconds = Median(hand_times);
    m.floor_seconds = Median(floor_times);
    std::printf(
        "%-34s node %8.1f ms  hand-written SQL %8.1f ms  ratio %.2f  SQLite floor %8.1f ms  "
        "node/floor %.2f  %s%s%s\n",
        c.name, m.node_seconds * 1e3, m.hand_seconds * 1e3, m.node_seconds / m.hand_seconds,
        m.floor_seconds * 1e3, m.node_seconds / m.floor_seconds,
                trenode::bench::AgreementText(agreement),
                agreement == Agreement::kSame ? "" : " at ",
                agreement == Agreement::kSame ? "" : difference.c_str());
    std::fflush(stdout);
    measured.push_back(std::move(m));
  }

  if (options.duckdb) {
    if (!trenode::bench::DuckDbInstalled()) {
      std::printf(
          "\nDuckDB yardstick skipped: its packages are not installed; run `npm ci` in %s "
          "(Node.js and the npm registry needed)\n",
          trenode::bench::DuckDbFolder().c_str());
    } else if (!CompareWithDuckDb(measured, imported, file("site"), file("site.duckdb"),
                                  options.rounds)) {
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
