#include "node/trectl/usage_statement.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "node/charging/money.h"

namespace trenode::trectl {
namespace {

std::string State(trenode::v1::AnalysisState state) {
  return absl::AsciiStrToLower(trenode::v1::AnalysisState_Name(state).substr(15));
}

std::string Seconds(int64_t micros) { return absl::StrFormat("%.6f", micros / 1e6); }

std::string Exact(int64_t micros) {
  return absl::StrFormat("%s%d.%06d", micros < 0 ? "-" : "", std::abs(micros) / 1'000'000,
                         std::abs(micros) % 1'000'000);
}

}  // namespace

std::string StatementCsv(const trenode::v1::ProjectUsage& usage) {
  std::string out =
      "analysis_id,submitter,kind,state,created,estimated,cpu_seconds,wall_seconds,"
      "peak_memory_bytes,rows_read,output_bytes,metered_by,stored_byte_seconds,egress_bytes,"
      "currency,in_total,cost\n";
  for (const trenode::v1::UsageLine& line : usage.lines()) {
    const trenode::v1::Usage& u = line.usage();
    absl::StrAppend(&out, line.analysis_id(), ",", line.submitter(), ",", line.kind(), ",",
                    State(line.state()), ",",
                    google::protobuf::util::TimeUtil::ToString(line.created()), ",",
                    line.estimated() ? "yes" : "no", ",", Seconds(u.cpu_micros()), ",",
                    Seconds(u.wall_micros()), ",", u.peak_memory_bytes(), ",", u.rows_read(), ",",
                    u.output_bytes(), ",", u.metered_by(), ",", line.stored_byte_seconds(), ",",
                    line.egress_bytes(), ",",
                    line.cost().currency().empty() ? usage.currency() : line.cost().currency(),
                    ",", line.outside_total() ? "no" : "yes", ",",
                    Exact(line.cost().total_micros()), "\n");
  }
  absl::StrAppend(&out, "total,,,,,,,,,,,,,,", usage.currency(), ",,",
                  Exact(usage.total_micros()), "\n");
  return out;
}

std::string StatementTable(const trenode::v1::ProjectUsage& usage) {
  std::vector<std::vector<std::string>> rows = {
      {"ANALYSIS", "KIND", "STATE", "CPU S", "WALL S", "PEAK MIB", "ROWS", "METERED BY", "COST"}};
  int analyses = 0;
  for (const trenode::v1::UsageLine& line : usage.lines()) {
    const trenode::v1::Usage& u = line.usage();
    if (line.kind() == "storage" || line.kind() == "egress") {
      // The quantity in place of a metering source: GiB-months kept, or
      // bytes sent ("withheld" where output sizes are not the caller's).
      std::string quantity =
          line.kind() == "egress"
              ? absl::StrCat(line.egress_bytes(), " bytes sent")
              : (line.cost().lines_size() > 0 && !line.cost().lines(0).quantity().empty()
                     ? line.cost().lines(0).quantity()
                     : line.stored_byte_seconds() > 0
                           ? absl::StrCat(line.stored_byte_seconds(), " byte-seconds")
                           : std::string("size withheld"));
      rows.push_back({line.analysis_id(), line.kind(), "-", "-", "-", "-", "-", quantity,
                      charging::FormatMoney(line.cost().total_micros())});
      continue;
    }
    if (line.kind() == "site") {
      // A partner's part, as it reported it, in its currency.
      rows.push_back({line.analysis_id(), "site", State(line.state()), "-", "-", "-", "-",
                      line.submitter(),
                      absl::StrCat(charging::FormatMoney(line.cost().total_micros()), " ",
                                   line.cost().currency(),
                                   line.outside_total() ? " (not in total)" : "")});
      continue;
    }
    ++analyses;
    rows.push_back({line.analysis_id(), line.kind(), State(line.state()),
                    absl::StrFormat("%.3f", u.cpu_micros() / 1e6),
                    absl::StrFormat("%.3f", u.wall_micros() / 1e6),
                    absl::StrCat(u.peak_memory_bytes() >> 20), absl::StrCat(u.rows_read()),
                    u.metered_by(),
                    absl::StrCat(charging::FormatMoney(line.cost().total_micros()),
                                 line.estimated() ? " (estimate)" : "")});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out = absl::StrCat("project ", usage.project_id(), ", ", usage.month(), ", in ",
                                 usage.currency().empty() ? "no currency (no prices)"
                                                          : usage.currency(),
                                 "\n\n");
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&out, row[c], std::string(widths[c] - row[c].size() + 2, ' '));
    }
    out.back() = '\n';
    while (out.size() > 1 && out[out.size() - 2] == ' ') out.erase(out.size() - 2, 1);
  }
  absl::StrAppend(&out, "\ntotal:     ", charging::FormatMoney(usage.total_micros()), " ",
                  usage.currency(), " (", analyses, " analyses",
                  analyses == usage.lines_size() ? "" : ", storage, egress and partners' parts",
                  ")\n");
  const trenode::v1::Budget& budget = usage.budget();
  if (budget.monthly_micros() > 0) {
    absl::StrAppend(&out, "budget:    ", charging::FormatMoney(budget.monthly_micros()), " ",
                    usage.currency(), " a month; committed this month ",
                    charging::FormatMoney(budget.committed_micros()), "\n");
  } else {
    absl::StrAppend(&out, "budget:    none\n");
  }
  return out;
}

}  // namespace trenode::trectl
