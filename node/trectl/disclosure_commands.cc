// trectl disclosure check: the node's disclosure rules on a local CSV table,
// before it is submitted (no node needed).
#include <algorithm>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "node/common/files.h"
#include "node/disclosure/acro_results.h"
#include "node/disclosure/policy.h"
#include "node/disclosure/suppression.h"
#include "node/disclosure/table.h"
#include "node/releases/table_csv.h"
#include "node/trectl/cli.h"

namespace trenode::trectl {
namespace {
using disclosure::CellFacts;
using disclosure::Table;

constexpr char kDisclosureHelp[] =
    "usage: trectl disclosure check FILE.csv --kind counts|magnitude [--policy acro]\n"
    "                               [--set NAME=VALUE,...] [--json] [--suppress]\n"
    "\n"
    "Checks a table with the node's disclosure rules (spec/disclosure.md) and prints every\n"
    "cell's verdict, or ACRO's results.json with --json. The first row names the columns, the\n"
    "first column the rows. Counts tables hold whole numbers; in magnitude tables each cell\n"
    "lists its contributions separated by ';' (up to 6 decimal places), e.g. 120.5;30;4.\n"
    "Policies: acro (default), opensafely, datashield; --set overrides a parameter, e.g.\n"
    "--set threshold=5,p_percent=15. Exits 0 if every cell passes, 1 if any fails or needs "
    "review.\n";

}  // namespace

int RunDisclosureCommand(const Args& args) {
  const auto& words = args.positional();
  if (args.Has("help") || words.size() != 3 || words[1] != "check") {
    return Help(args, kDisclosureHelp);
  }
  if (int rc = CheckFlags(args, "disclosure check", kDisclosureHelp,
                          {"kind", "policy", "set", "suppress"});
      rc != kOk) {
    return rc;
  }
  std::string kind = args.Get("kind").value_or("");
  if (kind != "counts" && kind != "magnitude") return Usage("--kind counts|magnitude");
  absl::StatusOr<disclosure::Policy> policy =
      disclosure::Preset(args.Get("policy").value_or("acro"));
  if (!policy.ok()) return Usage(policy.status().message());
  for (absl::string_view setting :
       absl::StrSplit(args.Get("set").value_or(""), ',', absl::SkipEmpty())) {
    std::vector<std::string> name_value = absl::StrSplit(setting, absl::MaxSplits('=', 1));
    if (name_value.size() != 2) return Usage("--set NAME=VALUE");
    if (absl::Status set = disclosure::Override(*policy, name_value[0], name_value[1]); !set.ok()) {
      return Usage(set.message());
    }
  }
  std::optional<std::string> bytes = ReadWholeFile(words[2]);
  if (!bytes) return Fail(absl::NotFoundError(absl::StrCat("cannot read ", words[2])));
  absl::StatusOr<Table> table = releases::ParseTableCsv(*bytes, kind == "magnitude", words[2]);
  if (!table.ok()) return Fail(table.status());
  disclosure::TableVerdict verdict = disclosure::CheckTable(*table, *policy);
  if (args.Has("json")) {
    std::cout << disclosure::AcroResultsJson(
        {{"output_0", kind == "counts" ? "crosstab" : "table", words[2], &*table, &verdict}},
        absl::Now());
  } else {
    std::vector<std::vector<std::string>> rows;
    for (size_t r = 0; r < table->row_labels.size(); ++r) {
      for (size_t c = 0; c < table->column_labels.size(); ++c) {
        size_t i = r * table->column_labels.size() + c;
        const auto& cell = verdict.cells[i];
        std::vector<std::string> reasons;
        for (const auto& outcome : cell.outcomes) {
          reasons.push_back(absl::StrCat(outcome.rule, ": ", outcome.reason));
        }
        rows.push_back({table->row_labels[r], table->column_labels[c],
                        absl::StrCat(table->cells[i].contributors),
                        disclosure::VerdictName(cell.verdict), absl::StrJoin(reasons, "; ")});
      }
    }
    PrintTable({"row", "column", "contributors", "verdict", "why"}, rows);
    std::cout << "\n" << disclosure::Summary(verdict) << "\n";
  }
  if (args.Has("suppress") && !args.Has("json")) {
    absl::StatusOr<disclosure::Suppression> protection = disclosure::Suppress(*table, verdict);
    if (!protection.ok()) return Fail(protection.status());
    std::cout << "\nWith the failing cells suppressed (*), complementary cells (+) added so that "
                 "no suppressed cell\ncan be recovered from the totals:\n\n";
    std::vector<std::string> header = {""};
    header.insert(header.end(), table->column_labels.begin(), table->column_labels.end());
    header.push_back("Total");
    std::vector<std::vector<std::string>> grid;
    const size_t columns = table->column_labels.size();
    std::vector<int64_t> column_totals(columns, 0);
    for (size_t r = 0; r < table->row_labels.size(); ++r) {
      std::vector<std::string> line = {table->row_labels[r]};
      int64_t row_total = 0;
      for (size_t c = 0; c < columns; ++c) {
        size_t i = r * columns + c;
        int64_t value = table->cells[i].contributors;
        row_total += value;
        column_totals[c] += value;
        line.push_back(!protection->suppressed[i] ? absl::StrCat(value)
                       : protection->primary[i]   ? "*"
                                                  : "+");
      }
      line.push_back(absl::StrCat(row_total));
      grid.push_back(std::move(line));
    }
    std::vector<std::string> totals = {"Total"};
    int64_t total = 0;
    for (int64_t value : column_totals) {
      totals.push_back(absl::StrCat(value));
      total += value;
    }
    totals.push_back(absl::StrCat(total));
    grid.push_back(std::move(totals));
    PrintTable(header, grid);
  }
  return verdict.verdict == disclosure::Verdict::kPass ? kOk : kFailed;
}

}  // namespace trenode::trectl
