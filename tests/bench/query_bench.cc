// trenode-query-bench: the node's compiled aggregate queries against the same
// queries written by hand in SQL through the sqlite3 library, on one
// synthetic site, measured alternately in the same run; prints each median and
// the ratio (node / hand; the goal is at most 1.3).
//
// usage: trenode-query-bench [--persons N] [--rounds N]
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "adapters/onprem/posix_object_store.h"
#include "google/protobuf/text_format.h"
#include "node/query/compiler.h"
#include "node/query/person_codes.h"
#include "node/query/runner.h"
#include "node/ingest/dataset_builder.h"
#include "node/synth/generator.h"
#include "tests/testutil/heart_failure.h"
#include "tests/testutil/temp_dir.h"

namespace {
using trenode::storage::SqliteDb;

struct Case {
  const char* name;
  const char* query;  // trenode.v1.AggregateQuery, text format; null: the heart-failure one
  const char* sql;    // the same, by hand
};

std::string HeartFailureBySex() {
  return absl::StrCat(
      trenode::testing::kUndiagnosedHeartFailureCohort,
      "outputs { name: \"c\" counts { group_by { variable { column: \"sex\" } } } }");
}

const Case kCases[] = {
    {"count by age band x sex",
     R"pb(index_date: "2024-01-01"
          outputs {
            name: "c"
            counts {
              group_by {
                variable { age { birth_column: "year_of_birth" } }
                binning { boundaries: [ 40, 50, 60, 70, 80 ] }
              }
              group_by { variable { column: "sex" } }
            }
          })pb",
     "SELECT CASE WHEN 2024 - year_of_birth IS NULL THEN NULL WHEN 2024 - year_of_birth < 40 "
     "THEN 0 WHEN 2024 - year_of_birth < 50 THEN 1 WHEN 2024 - year_of_birth < 60 THEN 2 "
     "WHEN 2024 - year_of_birth < 70 THEN 3 WHEN 2024 - year_of_birth < 80 THEN 4 ELSE 5 END, "
     "sex, COUNT(*) FROM person GROUP BY 1, 2 ORDER BY 1, 2"},
    {"undiagnosed heart failure by sex", nullptr,
     // The best hand-written shape (semi- and anti-joins served by covering
     // indexes), not the per-person lookups the node once compiled to.
     "SELECT sex, COUNT(*) FROM person AS p WHERE p.person_id IN (SELECT person_id FROM "
     "measurement WHERE measurement_code = '250908004' AND value_as_number < 40) AND "
     "p.person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code >= "
     "'I50' AND condition_code < 'I51') GROUP BY 1 ORDER BY 1"},
};

double Seconds(const std::function<void()>& run) {
  absl::Time start = absl::Now();
  run();
  return absl::ToDoubleSeconds(absl::Now() - start);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t persons = 1000000;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    bool ok = (flag == "--persons" && absl::SimpleAtoi(argv[i + 1], &persons)) ||
              (flag == "--rounds" && absl::SimpleAtoi(argv[i + 1], &rounds));
    if (!ok) {
      std::fprintf(stderr, "usage: trenode-query-bench [--persons N] [--rounds N]\n");
      return 2;
    }
  }
  trenode::testing::TempDir dir;
  const trenode::synth::SynthOptions options{11, persons};
  absl::Time start = absl::Now();
  if (!trenode::synth::GenerateSite(options, dir.File("site")).ok()) return 1;
  std::filesystem::remove(dir.path() / "site" / "dataset.textproto");
  const double generated = absl::ToDoubleSeconds(absl::Now() - start);
  start = absl::Now();
  auto source = *trenode::adapters::PosixObjectStore::Open(dir.path() / "site");
  auto dataset = trenode::ingest::BuildDatasetFile(*source, trenode::synth::SiteMetadata(options),
                                                   dir.File("site.sqlite"));
  if (!dataset.ok()) {
    std::fprintf(stderr, "import failed: %s\n", dataset.status().ToString().c_str());
    return 1;
  }
  const double imported = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("site of %lld persons generated in %.1f s, imported in %.1f s (%.0f persons/s)\n",
              static_cast<long long>(persons), generated, imported, persons / imported);
  auto db = *SqliteDb::Open(dir.File("site.sqlite"), SqliteDb::Mode::kReadOnly);
  // As the node opens a query's connection (QueryRunning's defaults).
  if (!db->Exec("PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;").ok()) return 1;
  // The node numbers persons once per dataset version, before its first query.
  trenode::query::MemoryPersonRegistry registry;
  trenode::query::PersonCodesCache cache(&registry);
  auto codes = cache.For(*dataset, dir.File("site.sqlite"));
  if (!codes.ok()) {
    std::fprintf(stderr, "person codes: %s\n", codes.status().ToString().c_str());
    return 1;
  }

  int failures = 0;
  for (const Case& c : kCases) {
    trenode::v1::AggregateQuery query;
    google::protobuf::TextFormat::ParseFromString(c.query ? c.query : HeartFailureBySex(), &query);
    auto compiled = trenode::query::CompileQuery(query, *dataset);
    if (!compiled.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.name, compiled.status().ToString().c_str());
      return 1;
    }
    std::map<std::string, int64_t> by_node, by_hand;
    std::vector<double> node_times, hand_times;
    for (int round = 0; round < rounds; ++round) {
      node_times.push_back(Seconds([&] {
        auto result = trenode::query::RunQuery(*db, *compiled, **codes);
        if (!result.ok()) std::abort();
        by_node.clear();
        // The node lists every combination; SQL by hand only those that occur.
        for (const auto& cell : result->result.tables(0).cells()) {
          if (cell.count() > 0) by_node[absl::StrJoin(cell.group(), "|")] = cell.count();
        }
      }));
      hand_times.push_back(Seconds([&] {
        auto statement = *db->Prepare(c.sql);
        by_hand.clear();
        int groups = static_cast<int>(compiled->outputs[0].groups.size());
        while (*statement.Step()) {
          std::vector<std::string> key;
          for (int g = 0; g < groups; ++g) key.push_back(statement.Text(g));
          by_hand[absl::StrJoin(key, "|")] = statement.Int64(groups);
        }
      }));
    }
    // Same counts (labels differ: bins are indexes by hand), same order.
    std::vector<int64_t> node_counts, hand_counts;
    for (const auto& [key, count] : by_node) node_counts.push_back(count);
    for (const auto& [key, count] : by_hand) hand_counts.push_back(count);
    std::sort(node_counts.begin(), node_counts.end());
    std::sort(hand_counts.begin(), hand_counts.end());
    bool same = node_counts == hand_counts && !node_counts.empty();
    failures += !same;
    double node = Median(node_times), hand = Median(hand_times);
    std::printf("%-34s node %8.1f ms  hand-written SQL %8.1f ms  ratio %.2f  %s\n", c.name,
                node * 1e3, hand * 1e3, node / hand, same ? "(same counts)" : "COUNTS DIFFER");
  }
  return failures == 0 ? 0 : 1;
}
