#include "federation/pooling.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/common/status_macros.h"
#include "node/disclosure/regression.h"
#include "node/ingest/csv_reader.h"
#include "node/query/compiler.h"
#include "node/query/grid.h"
#include "node/releases/regression_statistics.h"

namespace trenode::federation {
namespace {
using trenode::v1::ResultCell;
using trenode::v1::ResultTable;

constexpr char kTotal[] = "Total";

// A released CSV: its header and rows, the "Total" row left out.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

absl::StatusOr<Csv> ReadCsv(const std::string& text, const std::string& where) {
  ingest::CsvReader reader = ingest::CsvReaderOf(text, where);
  ingest::CsvRecord record;
  Csv csv;
  bool header = true;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader.Next(record));
    if (!more) break;
    if (record.blank) continue;
    if (header) {
      csv.header = record.fields;
      header = false;
      continue;
    }
    if (record.fields.size() != csv.header.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " line ", record.line, ": ", record.fields.size(),
                       " fields, the header has ", csv.header.size()));
    }
    if (!record.fields.empty() && record.fields[0] == kTotal) continue;
    csv.rows.push_back(record.fields);
  }
  if (header) return absl::InvalidArgumentError(absl::StrCat(where, ": empty"));
  return csv;
}

// No released count of persons is larger: sums of many such counts from
// many nodes stay far inside int64 wherever they are added up later (the
// home node's suppression audits add whole rows and columns).
constexpr int64_t kMaxCount = 1'000'000'000'000;

// A published count, or nullopt for an empty (suppressed) field.
absl::StatusOr<std::optional<int64_t>> CountOf(const std::string& field, const std::string& where) {
  if (field.empty()) return std::nullopt;
  int64_t count;
  if (!absl::SimpleAtoi(field, &count) || count < 0 || count > kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"", field.substr(0, 32), "\" is not a count"));
  }
  return count;
}

absl::StatusOr<double> NumberOf(const std::string& field, const std::string& where) {
  double value;
  if (!absl::SimpleAtod(field, &value) || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"", field.substr(0, 32), "\" is not a number"));
  }
  return value;
}

// Relative slack of the plausibility checks: far above the rounding of an
// honest node's sums, far below any change that would matter.
constexpr double kSlack = 1e-9;

// Categories of an unbinned, non-indicator group column (a TEXT column's
// value set, which only the node's catalogue knows) one part may list:
// above any node's compute.query_max_categories one would set, plus
// "(missing)" and "(other)".
constexpr size_t kMaxListedCategories = 1002;

// InvalidArgument naming `where` unless `value` is finite: every pooled
// number is checked after each node's part is added to it.
absl::Status StaysFinite(double value, const std::string& where, const std::string& what) {
  if (std::isfinite(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": adding it makes the pooled ", what, " infinite"));
}

// What one pass of pooling keeps: notes for the result, and which site is
// being read or added, so that an error is laid at that site's door.
struct Pass {
  std::vector<std::string> notes;
  size_t site = 0;
};

// A label a group column of the question can produce, or why not: the
// home node holds the question, so a binned column's bins and an
// indicator's 0 and 1 are known exactly; a TEXT column's values are in
// the node's catalogue only, so any printable label that cannot start a
// spreadsheet formula is taken (and how many, by the caller).
absl::Status CheckLabel(const trenode::v1::GroupBy& by, const std::string& label,
                        const std::string& where) {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": the group label \"", absl::CHexEscape(label.substr(0, 32)), "\" ", why));
  };
  if (by.binning().boundaries_size() > 0) {
    query::Categories bins = query::Categories::Binned(
        {by.binning().boundaries().begin(), by.binning().boundaries().end()}, true);
    const auto& labels = bins.labels();
    if (std::find(labels.begin(), labels.end(), label) == labels.end()) {
      return refuse("is not a bin of the question");
    }
    return absl::OkStatus();
  }
  if (by.variable().has_indicator()) {
    if (label != "0" && label != "1") return refuse("is not 0 or 1 (an indicator)");
    return absl::OkStatus();
  }
  for (unsigned char c : label) {
    if (c < 0x20 || c == 0x7f) return refuse("is not printable");
  }
  if (!label.empty() && std::string_view("=+-@").find(label[0]) != std::string_view::npos) {
    return refuse("could start a spreadsheet formula");
  }
  return absl::OkStatus();
}

// InvalidArgument naming `where` unless every group of a node's part is one
// the question's group columns `by` can produce, and there are no more of
// them than it can produce.
absl::Status CheckGroups(const std::vector<const trenode::v1::GroupBy*>& by,
                         const std::vector<std::vector<std::string>>& groups,
                         const std::string& where) {
  int64_t most = 1;
  std::vector<size_t> column_most;
  for (const trenode::v1::GroupBy* column : by) {
    const int64_t size = column->binning().boundaries_size() > 0
                             ? column->binning().boundaries_size() + 2
                         : column->variable().has_indicator() ? 2
                                                              : kMaxListedCategories;
    column_most.push_back(static_cast<size_t>(size));
    most = std::min(most * size, query::kMaxResultCells);
  }
  std::vector<std::set<std::string>> labels(by.size());
  std::set<std::vector<std::string>> distinct;
  for (const auto& group : groups) {
    if (group.size() != by.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", group.size(), " group columns, the question has ", by.size()));
    }
    for (size_t c = 0; c < group.size(); ++c) {
      RETURN_IF_ERROR(CheckLabel(*by[c], group[c], where));
      labels[c].insert(group[c]);
      if (labels[c].size() > column_most[c]) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": more labels in group column ",
                                                       c + 1, " than the question can produce (",
                                                       column_most[c], ")"));
      }
    }
    distinct.insert(group);
  }
  if (static_cast<int64_t>(distinct.size()) > most) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", distinct.size(), " groups, more than the question can produce (", most, ")"));
  }
  return absl::OkStatus();
}

// Pooled values of one group, in first-seen order of groups.
struct GroupPool {
  std::vector<std::vector<std::string>> order;
  std::map<std::vector<std::string>, int64_t> counts;
  std::set<std::vector<std::string>> withheld;

  // InvalidArgument if the pooled count would pass int64.
  absl::Status Add(const std::vector<std::string>& group, std::optional<int64_t> count,
                   const std::string& where) {
    if (!counts.contains(group) && !withheld.contains(group)) order.push_back(group);
    if (!count) {
      withheld.insert(group);
      counts.erase(group);
    } else if (!withheld.contains(group)) {
      int64_t& pooled = counts[group];
      if (__builtin_add_overflow(pooled, *count, &pooled)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": adding it makes a pooled count pass the largest count"));
      }
    }
    return absl::OkStatus();
  }
};

// One node's released file of an output, read, and where it came from
// ("site-b's by_sex.csv") for messages.
struct SiteCsv {
  std::string where;
  Csv csv;
};

// `site`'s file of `output`, with `where` set to name it in messages
// ("site-b's by_sex.csv"); nullptr (with a note) if the site did not release
// it, so the output is not pooled.
const std::string* FileOf(const trenode::v1::QueryOutput& output, const SiteRelease& site,
                          std::string& where, std::vector<std::string>& notes) {
  auto file = site.files.find(output.name() + ".csv");
  if (file == site.files.end()) {
    notes.push_back(
        absl::StrCat(output.name(), ": node ", site.node_id, " did not release it; not pooled"));
    return nullptr;
  }
  where = absl::StrCat(site.node_id, "'s ", file->first);
  return &file->second;
}

// Every node's file of `output`, read; nullopt (with a note) if some node
// did not release it, so the output is not pooled.
absl::StatusOr<std::optional<std::vector<SiteCsv>>> ReadEach(const trenode::v1::QueryOutput& output,
                                                             const std::vector<SiteRelease>& sites,
                                                             Pass& pass) {
  std::vector<SiteCsv> read;
  for (pass.site = 0; pass.site < sites.size(); ++pass.site) {
    const SiteRelease& site = sites[pass.site];
    std::string where;
    const std::string* file = FileOf(output, site, where, pass.notes);
    if (file == nullptr) return std::nullopt;
    ASSIGN_OR_RETURN(Csv csv, ReadCsv(*file, where));
    read.push_back({std::move(where), std::move(csv)});
  }
  return read;
}

absl::StatusOr<std::optional<ResultTable>> PoolCounts(const trenode::v1::QueryOutput& output,
                                                      const std::vector<SiteRelease>& sites,
                                                      Pass& pass) {
  std::vector<std::string>& notes = pass.notes;
  const bool crosstab = output.has_crosstab();
  std::vector<const trenode::v1::GroupBy*> by;
  if (crosstab) {
    by = {&output.crosstab().rows(), &output.crosstab().columns()};
  } else {
    for (const auto& column : output.counts().group_by()) by.push_back(&column);
  }
  ASSIGN_OR_RETURN(std::optional<std::vector<SiteCsv>> released, ReadEach(output, sites, pass));
  if (!released) return std::nullopt;
  GroupPool pool;
  std::vector<std::string> group_columns;
  for (pass.site = 0; pass.site < released->size(); ++pass.site) {
    const auto& [where, csv] = (*released)[pass.site];
    std::vector<std::vector<std::string>> groups;
    if (crosstab) {
      // "rows \ columns", column labels..., "Total"; each row: label, cells..., total.
      if (csv.header.size() < 3 || csv.header.back() != kTotal) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": not a cross-tabulation"));
      }
      size_t separator = csv.header[0].find(" \\ ");
      if (separator == std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": not a cross-tabulation"));
      }
      group_columns = {csv.header[0].substr(0, separator), csv.header[0].substr(separator + 3)};
      for (const auto& row : csv.rows) {
        for (size_t c = 1; c + 1 < row.size(); ++c) groups.push_back({row[0], csv.header[c]});
      }
      RETURN_IF_ERROR(CheckGroups(by, groups, where));
      for (const auto& row : csv.rows) {
        for (size_t c = 1; c + 1 < row.size(); ++c) {
          ASSIGN_OR_RETURN(std::optional<int64_t> count,
                           CountOf(row[c], absl::StrCat(where, " row ", row[0])));
          RETURN_IF_ERROR(pool.Add({row[0], csv.header[c]}, count, where));
        }
      }
    } else {
      if (csv.header.empty() || csv.header.back() != "count") {
        return absl::InvalidArgumentError(absl::StrCat(where, ": not a counts table"));
      }
      group_columns.assign(csv.header.begin(), csv.header.end() - 1);
      for (const auto& row : csv.rows) groups.emplace_back(row.begin(), row.end() - 1);
      if (group_columns.size() != by.size()) groups.push_back(group_columns);
      RETURN_IF_ERROR(CheckGroups(by, groups, where));
      for (const auto& row : csv.rows) {
        std::vector<std::string> group(row.begin(), row.end() - 1);
        ASSIGN_OR_RETURN(
            std::optional<int64_t> count,
            CountOf(row.back(), absl::StrCat(where, " group ", absl::StrJoin(group, " / "))));
        RETURN_IF_ERROR(pool.Add(group, count, where));
      }
    }
  }
  if (crosstab && !pool.withheld.empty()) {
    notes.push_back(absl::StrCat(output.name(),
                                 ": some node suppressed cells of it; a cross-tabulation is not "
                                 "pooled in part"));
    return std::nullopt;
  }
  if (crosstab) {
    // Row-major over every row and column any node has: a node's released
    // grid covers its own categories, so a cell it lacks is a zero there.
    std::vector<std::string> rows, columns;
    std::set<std::string> seen_rows, seen_columns;
    for (const auto& group : pool.order) {
      if (seen_rows.insert(group[0]).second) rows.push_back(group[0]);
      if (seen_columns.insert(group[1]).second) columns.push_back(group[1]);
    }
    pool.order.clear();
    for (const std::string& row : rows) {
      for (const std::string& column : columns) pool.order.push_back({row, column});
    }
  }
  ResultTable table;
  table.set_output(output.name());
  table.set_kind(crosstab ? trenode::v1::OUTPUT_KIND_CROSSTAB : trenode::v1::OUTPUT_KIND_COUNTS);
  for (const std::string& column : group_columns) table.add_group_columns(column);
  for (const auto& group : pool.order) {
    if (pool.withheld.contains(group)) {
      auto* withheld = table.add_withheld();
      for (const std::string& label : group) withheld->add_group(label);
      continue;
    }
    ResultCell* cell = table.add_cells();
    for (const std::string& label : group) cell->add_group(label);
    cell->set_count(pool.counts[group]);
    cell->mutable_evidence()->set_contributors(pool.counts[group]);
  }
  return table;
}

// InvalidArgument naming `at` unless one node's summary row can be honest:
// sd not negative, and the sum n times the mean (to rounding). The row has
// no minimum or maximum to hold the mean to.
absl::Status CheckSummary(int64_t n, double mean, double sd, double sum, const std::string& at) {
  if (sd < 0) return absl::InvalidArgumentError(absl::StrCat(at, ": sd is negative"));
  const double n_mean = static_cast<double>(n) * mean;
  if (!std::isfinite(n_mean) ||
      std::abs(sum - n_mean) > kSlack * std::max(std::abs(sum), std::abs(n_mean))) {
    return absl::InvalidArgumentError(absl::StrCat(at, ": sum ", query::FormatNumber(sum),
                                                   " is not n times the mean (",
                                                   query::FormatNumber(n_mean), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ResultTable>> PoolSummary(const trenode::v1::QueryOutput& output,
                                                       const std::vector<SiteRelease>& sites,
                                                       Pass& pass) {
  struct Sums {
    int64_t n = 0;
    double sum = 0;
    double sum_of_squares = 0;
    std::vector<double> site_sums;
  };
  std::vector<std::vector<std::string>> order;
  std::map<std::vector<std::string>, Sums> sums;
  std::set<std::vector<std::string>> withheld;
  std::vector<std::string> group_columns;
  std::vector<const trenode::v1::GroupBy*> by;
  for (const auto& column : output.summary().group_by()) by.push_back(&column);
  ASSIGN_OR_RETURN(std::optional<std::vector<SiteCsv>> released, ReadEach(output, sites, pass));
  if (!released) return std::nullopt;
  for (pass.site = 0; pass.site < released->size(); ++pass.site) {
    const auto& [where, csv] = (*released)[pass.site];
    // Group columns..., n, mean, sd, sum.
    if (csv.header.size() < 4 || csv.header[csv.header.size() - 4] != "n" ||
        csv.header.back() != "sum") {
      return absl::InvalidArgumentError(absl::StrCat(where, ": not a summary table"));
    }
    const size_t groups = csv.header.size() - 4;
    group_columns.assign(csv.header.begin(), csv.header.begin() + groups);
    std::vector<std::vector<std::string>> labels;
    for (const auto& row : csv.rows) labels.emplace_back(row.begin(), row.begin() + groups);
    if (group_columns.size() != by.size()) labels.push_back(group_columns);
    RETURN_IF_ERROR(CheckGroups(by, labels, where));
    for (const auto& row : csv.rows) {
      std::vector<std::string> group(row.begin(), row.begin() + groups);
      if (!sums.contains(group) && !withheld.contains(group)) order.push_back(group);
      std::string at = absl::StrCat(where, " group ", absl::StrJoin(group, " / "));
      if (row[groups].empty()) {
        withheld.insert(group);
        continue;
      }
      ASSIGN_OR_RETURN(std::optional<int64_t> n, CountOf(row[groups], at));
      ASSIGN_OR_RETURN(double mean, NumberOf(row[groups + 1], at));
      ASSIGN_OR_RETURN(double sd, NumberOf(row[groups + 2], at));
      ASSIGN_OR_RETURN(double sum, NumberOf(row[groups + 3], at));
      RETURN_IF_ERROR(CheckSummary(*n, mean, sd, sum, at));
      Sums& pooled = sums[group];
      if (__builtin_add_overflow(pooled.n, *n, &pooled.n)) {
        return absl::InvalidArgumentError(absl::StrCat(at, ": n passes the largest count"));
      }
      pooled.sum += sum;
      RETURN_IF_ERROR(StaysFinite(pooled.sum, at, "sum"));
      pooled.sum_of_squares += (*n > 1 ? (*n - 1) * sd * sd : 0.0) + *n * mean * mean;
      RETURN_IF_ERROR(StaysFinite(pooled.sum_of_squares, at, "sum of squares"));
      pooled.site_sums.push_back(sum);
    }
  }
  ResultTable table;
  table.set_output(output.name());
  table.set_kind(trenode::v1::OUTPUT_KIND_SUMMARY);
  for (const std::string& column : group_columns) table.add_group_columns(column);
  for (const auto& group : order) {
    if (withheld.contains(group)) {
      auto* kept = table.add_withheld();
      for (const std::string& label : group) kept->add_group(label);
      continue;
    }
    const Sums& pooled = sums[group];
    ResultCell* cell = table.add_cells();
    for (const std::string& label : group) cell->add_group(label);
    cell->set_count(pooled.n);
    cell->set_n(pooled.n);
    cell->set_sum(pooled.sum);
    cell->set_sum_of_squares(pooled.sum_of_squares);
    double mean = pooled.n > 0 ? pooled.sum / pooled.n : 0;
    cell->set_mean(mean);
    double variance =
        pooled.n > 1 ? (pooled.sum_of_squares - pooled.n * mean * mean) / (pooled.n - 1) : 0;
    cell->set_sd(variance > 0 ? std::sqrt(variance) : 0);
    auto* evidence = cell->mutable_evidence();
    evidence->set_contributors(pooled.n);
    std::vector<double> by_size = pooled.site_sums;
    std::sort(by_size.begin(), by_size.end(),
              [](double a, double b) { return std::abs(a) > std::abs(b); });
    for (size_t i = 0; i < by_size.size() && i < 3; ++i) evidence->add_largest(by_size[i]);
    int negative = 0;
    for (double s : pooled.site_sums) negative += s < 0;
    evidence->set_negative_contributions(negative);
  }
  return table;
}

// Few-valued terms are matched across nodes by name and how many terms of
// that name came before (two indicators are both "indicator").
using FewValuedKey = std::pair<std::string, int>;

std::vector<FewValuedKey> FewValuedKeys(const trenode::v1::RegressionResult& regression) {
  std::map<std::string, int> seen;
  std::vector<FewValuedKey> keys;
  for (const auto& term : regression.few_valued_terms()) {
    keys.emplace_back(term.term(), seen[term.term()]++);
  }
  return keys;
}

// InvalidArgument naming `where` unless one node's sufficient statistics
// can be those of some persons' rows (the parser has checked X'X is
// symmetric with no negative diagonal entry): by Cauchy-Schwarz every
// |X'X_ij| is at most sqrt(X'X_ii X'X_jj) and every |X'y_j| at most
// sqrt(X'X_jj y'y), and the intercept's diagonal entry counts the persons.
absl::Status CheckStatistics(const trenode::v1::RegressionResult& r, bool intercept,
                             const std::string& where) {
  const int p = r.terms_size();
  auto refuse = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
  };
  if (r.xtx_size() != p * p || r.xty_size() != p) return refuse("X'X or X'y is not terms-sized");
  for (int i = 0; i < p; ++i) {
    if (!(r.xtx(i * p + i) >= 0)) return refuse(absl::StrCat("X'X[", r.terms(i), "] is negative"));
  }
  for (int i = 0; i < p; ++i) {
    const double root_i = std::sqrt(r.xtx(i * p + i));
    for (int j = 0; j < i; ++j) {
      if (std::abs(r.xtx(i * p + j)) > root_i * std::sqrt(r.xtx(j * p + j)) * (1 + kSlack)) {
        return refuse(absl::StrCat("X'X[", r.terms(i), ", ", r.terms(j),
                                   "] is larger than Cauchy-Schwarz allows"));
      }
    }
    if (std::abs(r.xty(i)) > root_i * std::sqrt(r.yty()) * (1 + kSlack)) {
      return refuse(absl::StrCat("X'y[", r.terms(i), "] is larger than Cauchy-Schwarz allows"));
    }
  }
  if (intercept && p > 0 && r.xtx(0) != static_cast<double>(r.n())) {
    return refuse(absl::StrCat("X'X[", r.terms(0), ", ", r.terms(0), "] is ",
                               query::FormatNumber(r.xtx(0)), ", not n (", r.n(), ")"));
  }
  return absl::OkStatus();
}

// Adds `site`'s sufficient statistics into `pooled`, another node's or
// several nodes' already. InvalidArgument naming `where` if its terms
// differ.
absl::Status AddStatistics(const trenode::v1::RegressionResult& site, const std::string& where,
                           trenode::v1::RegressionResult& pooled) {
  if (!std::equal(site.terms().begin(), site.terms().end(), pooled.terms().begin(),
                  pooled.terms().end())) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": its terms (", absl::StrJoin(site.terms(), ", "), ") are not the other nodes' (",
        absl::StrJoin(pooled.terms(), ", "), ") in that order"));
  }
  int64_t n;
  if (__builtin_add_overflow(pooled.n(), site.n(), &n) || n > kMaxCount) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": n passes the largest count"));
  }
  pooled.set_n(n);
  for (int i = 0; i < site.xtx_size(); ++i) {
    pooled.set_xtx(i, pooled.xtx(i) + site.xtx(i));
    RETURN_IF_ERROR(StaysFinite(pooled.xtx(i), where, "X'X"));
  }
  for (int i = 0; i < site.xty_size(); ++i) {
    pooled.set_xty(i, pooled.xty(i) + site.xty(i));
    RETURN_IF_ERROR(StaysFinite(pooled.xty(i), where, "X'y"));
  }
  pooled.set_yty(pooled.yty() + site.yty());
  RETURN_IF_ERROR(StaysFinite(pooled.yty(), where, "y'y"));
  // X'X over all persons is at least each node's, so no person's leverage
  // in the pooled fit passes the largest at any node.
  pooled.set_max_leverage(std::max(pooled.max_leverage(), site.max_leverage()));
  // A term stays few-valued only if it is at every node and its values
  // together are still few; persons holding each value add.
  std::map<FewValuedKey, const trenode::v1::TermValues*> at_site;
  std::vector<FewValuedKey> site_keys = FewValuedKeys(site);
  for (size_t i = 0; i < site_keys.size(); ++i) {
    at_site[site_keys[i]] = &site.few_valued_terms(static_cast<int>(i));
  }
  std::vector<FewValuedKey> pooled_keys = FewValuedKeys(pooled);
  google::protobuf::RepeatedPtrField<trenode::v1::TermValues> kept;
  for (size_t i = 0; i < pooled_keys.size(); ++i) {
    auto other = at_site.find(pooled_keys[i]);
    if (other == at_site.end()) continue;
    std::map<double, int64_t> persons;
    const trenode::v1::TermValues& mine = pooled.few_valued_terms(static_cast<int>(i));
    for (const auto* term : {&mine, other->second}) {
      for (int v = 0; v < term->values_size(); ++v) persons[term->values(v)] += term->persons(v);
    }
    if (persons.size() > static_cast<size_t>(releases::kMaxFewValues)) continue;
    trenode::v1::TermValues* merged = kept.Add();
    merged->set_term(mine.term());
    for (const auto& [value, held] : persons) {
      merged->add_values(value);
      merged->add_persons(held);
    }
  }
  pooled.mutable_few_valued_terms()->Swap(&kept);
  return absl::OkStatus();
}

// One OLS regression over every node's persons: the nodes' sufficient
// statistics added. InvalidArgument naming the node for a malformed file or
// terms that differ; FailedPrecondition if the pooled fit cannot be made
// (X'X singular: the terms are collinear over all the persons).
absl::StatusOr<std::optional<ResultTable>> PoolRegression(const trenode::v1::QueryOutput& output,
                                                          const std::vector<SiteRelease>& sites,
                                                          Pass& pass) {
  trenode::v1::RegressionResult pooled;
  for (pass.site = 0; pass.site < sites.size(); ++pass.site) {
    const SiteRelease& site = sites[pass.site];
    std::string where;
    const std::string* file = FileOf(output, site, where, pass.notes);
    if (file == nullptr) return std::nullopt;
    ASSIGN_OR_RETURN(trenode::v1::RegressionResult statistics,
                     releases::ParseRegressionStatistics(*file, where));
    RETURN_IF_ERROR(CheckStatistics(statistics, !output.regression().no_intercept(), where));
    if (&site == &sites.front()) {
      pooled = std::move(statistics);
    } else {
      RETURN_IF_ERROR(AddStatistics(statistics, where, pooled));
    }
  }
  pooled.set_residual_degrees_of_freedom(pooled.n() - pooled.terms_size());
  absl::StatusOr<disclosure::OlsFit> fit =
      disclosure::FitOls({pooled.xtx().begin(), pooled.xtx().end()},
                         {pooled.xty().begin(), pooled.xty().end()}, pooled.yty(), pooled.n());
  if (!fit.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        output.name(), ": the pooled regression cannot be fitted: ", fit.status().message()));
  }
  ResultTable table;
  table.set_output(output.name());
  table.set_kind(trenode::v1::OUTPUT_KIND_REGRESSION);
  *table.mutable_regression() = std::move(pooled);
  return table;
}

// One pass of pooling over `sites`. On an error, `pass.site` is the site
// it is laid at, or no site's index if it is no one site's doing.
absl::StatusOr<Pooled> PoolOnce(const trenode::v1::AggregateQuery& query,
                                const std::vector<SiteRelease>& sites, Pass& pass) {
  Pooled pooled;
  for (const auto& output : query.outputs()) {
    pass.site = sites.size();
    std::optional<ResultTable> table;
    if (output.has_counts() || output.has_crosstab()) {
      ASSIGN_OR_RETURN(table, PoolCounts(output, sites, pass));
    } else if (output.has_summary()) {
      ASSIGN_OR_RETURN(table, PoolSummary(output, sites, pass));
    } else if (output.has_regression()) {
      ASSIGN_OR_RETURN(table, PoolRegression(output, sites, pass));
    } else {
      return absl::InvalidArgumentError(absl::StrCat("outputs ", output.name(), ": no kind"));
    }
    if (table) *pooled.result.add_tables() = *std::move(table);
  }
  pooled.notes = std::move(pass.notes);
  return pooled;
}

}  // namespace

absl::StatusOr<Pooled> PoolReleased(const trenode::v1::AggregateQuery& query,
                                    const std::vector<SiteRelease>& sites) {
  if (sites.empty()) return absl::InvalidArgumentError("no node released a contribution");
  std::vector<SiteRelease> kept = sites;
  std::vector<Refusal> refused;
  while (true) {
    Pass pass;
    absl::StatusOr<Pooled> pooled = PoolOnce(query, kept, pass);
    if (pooled.ok()) {
      pooled->refused = std::move(refused);
      return pooled;
    }
    // A part that cannot be honest is set aside and the others pooled
    // without it, as if that node had not answered.
    if (pooled.status().code() != absl::StatusCode::kInvalidArgument || kept.size() == 1 ||
        pass.site >= kept.size()) {
      return pooled.status();
    }
    refused.push_back({kept[pass.site].node_id, std::string(pooled.status().message())});
    kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(pass.site));
  }
}

}  // namespace trenode::federation
