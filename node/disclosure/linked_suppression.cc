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
                                               const std::vector<int64_t>& joint, int64_t small,
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
  // Which output cells contain each joint cell: the candidates for hiding a
  // small group.
  std::vector<std::vector<CellRef>> containing(joint.size());
  for (size_t t = 0; t < tables.size(); ++t) {
    for (size_t c = 0; c < tables[t].counts.size(); ++c) {
      for (int j : tables[t].preimage[c]) containing[j].push_back({t, c});
    }
  }
  LinkedProtection protection;
  for (int round = 0; round < kMaxRounds; ++round) {
    LinearSystem system;
    // Empty joint cells are known to be empty; the others hold someone.
    system.lower.assign(joint.size(), 1);
    system.upper.assign(joint.size(), kNoUpperBound);
    for (size_t j = 0; j < joint.size(); ++j) {
      if (joint[j] == 0) system.lower[j] = system.upper[j] = 0;
    }
    std::vector<std::vector<int>> targets;
    struct Target {
      std::optional<CellRef> cell;  // a suppressed output cell
      int joint = -1;               // or a small joint cell
    };
    std::vector<Target> target_of;
    for (size_t t = 0; t < tables.size(); ++t) {
      const LinkedTable& table = tables[t];
      for (size_t c = 0; c < table.counts.size(); ++c) {
        if (!table.suppressed[c]) {
          system.equations.push_back({table.preimage[c], table.counts[c]});
        } else if (table.counts[c] > 0) {
          // (An empty hidden cell is known empty: nothing to protect.)
          targets.push_back(table.preimage[c]);
          target_of.push_back({CellRef{t, c}, -1});
        }
      }
      for (const std::vector<int>& total : table.totals) {
        int64_t sum = 0;
        for (int c : total) sum += table.counts[c];
        system.equations.push_back({UnionOf(table, total), sum});
      }
    }
    for (size_t j = 0; j < joint.size(); ++j) {
      if (joint[j] > 0 && joint[j] < small) {
        targets.push_back({static_cast<int>(j)});
        target_of.push_back({std::nullopt, static_cast<int>(j)});
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
        protection.why = absl::StrCat("the joint audit of the tables could not complete: ",
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
    // The smallest published non-empty cell linked to the exposed target:
    // sharing one of its table's totals, overlapping it in another table, or
    // (for a small joint cell) containing it.
    std::set<int> exposed_joint(targets[*exposed].begin(), targets[*exposed].end());
    const Target& at = target_of[*exposed];
    std::optional<CellRef> partner;
    auto consider = [&](const CellRef& candidate) {
      const LinkedTable& table = tables[candidate.table];
      if (table.suppressed[candidate.cell] || table.counts[candidate.cell] == 0) return;
      if (!partner || table.counts[candidate.cell] < tables[partner->table].counts[partner->cell]) {
        partner = candidate;
      }
    };
    for (size_t t = 0; t < tables.size(); ++t) {
      const LinkedTable& table = tables[t];
      for (size_t c = 0; c < table.counts.size(); ++c) {
        bool linked = false;
        if (at.cell && t == at.cell->table) {
          for (const std::vector<int>& total : table.totals) {
            bool has_exposed =
                std::find(total.begin(), total.end(), static_cast<int>(at.cell->cell)) !=
                total.end();
            bool has_cell =
                std::find(total.begin(), total.end(), static_cast<int>(c)) != total.end();
            linked = linked || (has_exposed && has_cell && c != at.cell->cell);
          }
        } else {
          for (int j : table.preimage[c]) linked = linked || exposed_joint.contains(j);
        }
        if (linked) consider({t, c});
      }
    }
    if (!partner) {
      protection.why = at.cell ? "a suppressed cell stays exposed with every linked cell suppressed"
                               : "a small group of persons stays exposed through the tables' "
                                 "totals";
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
