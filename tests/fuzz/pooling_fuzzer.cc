// What a partner node sends back to be pooled: two nodes' released files
// (the input split at its first NUL byte; each half holds four CSVs
// separated by a line "---"), pooled for a query with a counts, a
// cross-tabulation, a summary and a regression output (its file the
// sufficient statistics), and the pooled result then made into the home
// node's release files, as the home node does. Pooling either refuses with
// InvalidArgument (FailedPrecondition for a regression it cannot fit) or
// gives tables whose counts are not negative, whose cross-tabulations are
// full grids and whose regressions are square; the release files are built
// without fault for any pooled result.

#include <set>

#include "absl/strings/str_split.h"
#include "federation/pooling.h"
#include "node/disclosure/policy.h"
#include "node/releases/aggregate_files.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

trenode::v1::AggregateQuery Query() {
  trenode::v1::AggregateQuery query;
  auto* counts = query.add_outputs();
  counts->set_name("a");
  counts->mutable_counts();
  auto* crosstab = query.add_outputs();
  crosstab->set_name("b");
  crosstab->mutable_crosstab();
  auto* summary = query.add_outputs();
  summary->set_name("c");
  summary->mutable_summary();
  auto* regression = query.add_outputs();
  regression->set_name("d");
  regression->mutable_regression();
  return query;
}

trenode::federation::SiteRelease Site(const std::string& id, absl::string_view text) {
  trenode::federation::SiteRelease site{id, {}};
  std::vector<std::string> parts = absl::StrSplit(text, "\n---\n");
  const char* names[] = {"a.csv", "b.csv", "c.csv", "d.csv"};
  for (size_t i = 0; i < parts.size() && i < 4; ++i) site.files[names[i]] = parts[i];
  return site;
}

}  // namespace

TRENODE_FUZZ_TARGET(pooling) {
  static const trenode::v1::AggregateQuery* query = new trenode::v1::AggregateQuery(Query());
  static const trenode::disclosure::Policy* acro =
      new trenode::disclosure::Policy(*trenode::disclosure::Preset("acro"));
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find('\0');
  absl::string_view first = input.substr(0, split);
  absl::string_view second = split == absl::string_view::npos ? "" : input.substr(split + 1);
  absl::StatusOr<trenode::federation::Pooled> pooled =
      trenode::federation::PoolReleased(*query, {Site("site-a", first), Site("site-b", second)});
  if (!pooled.ok()) {
    FUZZ_CHECK(pooled.status().code() == absl::StatusCode::kInvalidArgument ||
               pooled.status().code() == absl::StatusCode::kFailedPrecondition);
    return 0;
  }
  for (const auto& table : pooled->result.tables()) {
    for (const auto& cell : table.cells()) FUZZ_CHECK(cell.count() >= 0);
    if (table.kind() == trenode::v1::OUTPUT_KIND_CROSSTAB) {
      std::set<std::string> rows, columns;
      for (const auto& cell : table.cells()) {
        FUZZ_CHECK(cell.group_size() == 2);
        rows.insert(cell.group(0));
        columns.insert(cell.group(1));
      }
      FUZZ_CHECK(static_cast<size_t>(table.cells_size()) == rows.size() * columns.size());
    }
    if (table.kind() == trenode::v1::OUTPUT_KIND_REGRESSION) {
      const auto& r = table.regression();
      FUZZ_CHECK(r.terms_size() > 0 && r.xty_size() == r.terms_size() &&
                 r.xtx_size() == r.terms_size() * r.terms_size());
      FUZZ_CHECK(r.n() > r.terms_size() && r.max_leverage() >= 0 && r.max_leverage() <= 1);
    }
  }
  std::vector<trenode::releases::CandidateFile> files =
      trenode::releases::AggregateFiles(pooled->result, nullptr, *acro);
  FUZZ_CHECK(files.size() == static_cast<size_t>(pooled->result.tables_size()));
  return 0;
}
