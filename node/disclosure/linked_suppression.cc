#include "node/disclosure/linked_suppression.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::disclosure {
namespace {

// At most this many rounds of complementary suppression.
constexpr int kMaxRounds = 200;

struct CellRef {
  size_t table;
  size_t cell;
};

std::vector<int> UnionOf(const LinkedTable& table, const std::vector<int>& cells) {
  std::vector<int> joint;
  for (int cell : cells) {
    joint.insert(joint.end(), table.preimage[cell].begin(), table.preimage[cell].end());
  }
  std::sort(joint.begin(), joint.end());
  joint.erase(std::unique(joint.begin(), joint.end()), joint.end());
  return joint;
}

}  // namespace

absl::StatusOr<LinkedProtection> ProtectLinked(std::vector<LinkedTable>& tables,
                                               const std::vector<int64_t>& joint, int64_t lower,
                                               const AuditLimits& limits) {
  for (const LinkedTable& table : tables) {
    for (size_t c = 0; c < table.counts.size(); ++c) {
      int64_t sum = 0;
      for (int j : table.preimage[c]) {
        if (j < 0 || j >= static_cast<int>(joint.size())) {
          return absl::InvalidArgumentError("a cell names a joint cell out of range");
        }
        sum += joint[j];
      }
      if (sum != table.counts[c]) {
        return absl::InvalidArgumentError("a table's cell is not the sum of its joint cells");
      }
    }
  }
  LinkedProtection protection;
  for (int round = 0; round < kMaxRounds; ++round) {
    LinearSystem system;
    system.lower.assign(joint.size(), 0);
    system.upper.assign(joint.size(), kNoUpperBound);
    std::vector<std::vector<int>> targets;
    std::vector<CellRef> target_cells;
    for (size_t t = 0; t < tables.size(); ++t) {
      const LinkedTable& table = tables[t];
      for (size_t c = 0; c < table.counts.size(); ++c) {
        if (table.suppressed[c]) {
          targets.push_back(table.preimage[c]);
          target_cells.push_back({t, c});
          if (lower > 0) {
            if (table.preimage[c].size() != 1) {
              protection.why =
                  "the policy publishes zeros, so a suppressed cell is known not to be empty; "
                  "the joint audit cannot use that for a cell spanning several joint cells";
              return protection;
            }
            system.lower[table.preimage[c][0]] = lower;
          }
        } else {
          system.equations.push_back({table.preimage[c], table.counts[c]});
        }
      }
      for (const std::vector<int>& total : table.totals) {
        int64_t sum = 0;
        for (int c : total) sum += table.counts[c];
        system.equations.push_back({UnionOf(table, total), sum});
      }
    }
    if (targets.empty()) {
      protection.complete = true;
      return protection;
    }
    absl::StatusOr<std::vector<TargetBounds>> bounds =
        AuditTargets(system, joint, targets, limits);
    if (!bounds.ok()) {
      if (absl::IsResourceExhausted(bounds.status()) ||
          absl::IsDeadlineExceeded(bounds.status())) {
        protection.why = absl::StrCat("the joint audit of the linked tables could not complete: ",
                                      bounds.status().message());
        return protection;
      }
      return bounds.status();
    }
    std::optional<size_t> exposed;
    for (size_t i = 0; i < bounds->size() && !exposed; ++i) {
      if (!(*bounds)[i].proven_protected) exposed = i;
    }
    if (!exposed) {
      protection.complete = true;
      return protection;
    }
    // The smallest published cell linked to the exposed one: sharing one of
    // its table's totals, or overlapping it in another table.
    const CellRef at = target_cells[*exposed];
    std::set<int> exposed_joint(tables[at.table].preimage[at.cell].begin(),
                                tables[at.table].preimage[at.cell].end());
    std::optional<CellRef> partner;
    auto better = [&](const CellRef& candidate) {
      return !partner ||
             tables[candidate.table].counts[candidate.cell] <
                 tables[partner->table].counts[partner->cell];
    };
    for (size_t t = 0; t < tables.size(); ++t) {
      const LinkedTable& table = tables[t];
      for (size_t c = 0; c < table.counts.size(); ++c) {
        if (table.suppressed[c] || table.counts[c] < lower) continue;
        bool linked = false;
        if (t == at.table) {
          for (const std::vector<int>& total : table.totals) {
            bool has_exposed = std::find(total.begin(), total.end(), at.cell) != total.end();
            bool has_cell =
                std::find(total.begin(), total.end(), static_cast<int>(c)) != total.end();
            linked = linked || (has_exposed && has_cell);
          }
        } else {
          for (int j : table.preimage[c]) linked = linked || exposed_joint.contains(j);
        }
        if (linked && better({t, c})) partner = CellRef{t, c};
      }
    }
    if (!partner) {
      protection.why = "a suppressed cell stays exposed with every linked cell suppressed";
      return protection;
    }
    tables[partner->table].suppressed[partner->cell] = true;
    ++protection.added;
  }
  protection.why = absl::StrCat("the joint audit still found exposed cells after ", kMaxRounds,
                                " complementary suppressions");
  return protection;
}

}  // namespace trenode::disclosure
