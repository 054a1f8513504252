// Linked tables protected jointly: the margins attack of issue 11 (counts by
// region published beside counts by region and sex) recovers nothing once
// the tables are audited together.
#include "node/disclosure/linked_suppression.h"

#include "gtest/gtest.h"
#include "node/disclosure/suppression.h"

namespace trenode::disclosure {
namespace {

// Region x sex joint counts; table 0 is counts by region (each region a row
// total of the joint), table 1 the joint as a list with its grand total.
struct RegionsBySex {
  std::vector<int64_t> joint = {40, 2, 9, 31, 25, 30, 9, 44};  // 4 regions x 2 sexes
  LinkedTable by_region, by_region_sex;

  RegionsBySex() {
    for (int r = 0; r < 4; ++r) {
      by_region.counts.push_back(joint[2 * r] + joint[2 * r + 1]);
      by_region.preimage.push_back({2 * r, 2 * r + 1});
    }
    by_region.totals = {{0, 1, 2, 3}};
    by_region.suppressed.assign(4, false);
    for (int j = 0; j < 8; ++j) {
      by_region_sex.counts.push_back(joint[j]);
      by_region_sex.preimage.push_back({j});
    }
    by_region_sex.totals = {{0, 1, 2, 3, 4, 5, 6, 7}};
    // Its own protection as a list with a grand total: 2 and 9 and 9.
    by_region_sex.suppressed = {false, true, true, false, false, false, true, false};
  }
};

TEST(LinkedSuppressionTest, TheMarginsAttackRecoversNothingOnceTablesAreJoint) {
  RegionsBySex tables;
  // Alone, the list's suppression holds against its own grand total...
  Table list;
  list.row_labels = {"count"};
  for (int64_t count : tables.joint) {
    list.column_labels.push_back("c");
    CellFacts cell;
    cell.contributors = count;
    list.cells.push_back(cell);
  }
  auto alone = AuditSuppression(list, tables.by_region_sex.suppressed, {.rows = true, .columns = false});
  ASSERT_TRUE(alone.ok());
  EXPECT_FALSE((*alone)[1]->recoverable());
  // ... but each region's count less its published cell gives the hidden one.
  std::vector<LinkedTable> linked = {tables.by_region, tables.by_region_sex};
  auto protection = ProtectLinked(linked, tables.joint, /*small=*/10);
  ASSERT_TRUE(protection.ok()) << protection.status();
  EXPECT_TRUE(protection->complete) << protection->why;
  EXPECT_GT(protection->added, 0);
  // Every hidden joint cell now ranges over more than one value.
  LinearSystem system;
  system.lower.assign(8, 1);  // no joint cell is empty
  system.upper.assign(8, kNoUpperBound);
  std::vector<std::vector<int>> targets;
  for (const LinkedTable& table : linked) {
    for (size_t c = 0; c < table.counts.size(); ++c) {
      if (table.suppressed[c]) {
        targets.push_back(table.preimage[c]);
      } else {
        system.equations.push_back({table.preimage[c], table.counts[c]});
      }
    }
    for (const auto& total : table.totals) {
      std::vector<int> joint;
      int64_t sum = 0;
      for (int c : total) {
        joint.insert(joint.end(), table.preimage[c].begin(), table.preimage[c].end());
        sum += table.counts[c];
      }
      std::sort(joint.begin(), joint.end());
      joint.erase(std::unique(joint.begin(), joint.end()), joint.end());
      system.equations.push_back({joint, sum});
    }
  }
  auto bounds = AuditTargets(system, tables.joint, targets);
  ASSERT_TRUE(bounds.ok()) << bounds.status();
  for (const TargetBounds& bound : *bounds) {
    EXPECT_LT(bound.low, bound.high);
    EXPECT_TRUE(bound.proven_protected);
  }
}

TEST(LinkedSuppressionTest, TablesThatDoNotFitTheJointAreRefused) {
  RegionsBySex tables;
  tables.by_region.counts[0] += 1;
  std::vector<LinkedTable> linked = {tables.by_region, tables.by_region_sex};
  EXPECT_EQ(ProtectLinked(linked, tables.joint, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Two indicators of nested criteria, A and "A but not G": no cell is small,
// yet the joint cell (in A, not in "A but not G") is G, and the combination
// (not in A, in "A but not G") is empty by construction, which the attacker
// knows. Counts by each indicator would give G away as a difference of
// published cells; the audit finds it and suppresses enough.
TEST(LinkedSuppressionTest, ASmallGroupBetweenTwoLargeCellsIsProtected) {
  // Joint cells (a, b) row-major: (0,0) rest, (0,1) empty, (1,0) G, (1,1) A less G.
  std::vector<int64_t> joint = {19123, 0, 9, 400};
  LinkedTable by_a, by_b;
  by_a.counts = {19123, 409};
  by_a.preimage = {{0, 1}, {2, 3}};
  by_b.counts = {19132, 400};
  by_b.preimage = {{0, 2}, {1, 3}};
  for (LinkedTable* table : {&by_a, &by_b}) {
    table->totals = {{0, 1}};
    table->suppressed = {false, false};
  }
  std::vector<LinkedTable> linked = {by_a, by_b};
  auto protection = ProtectLinked(linked, joint, /*small=*/10);
  ASSERT_TRUE(protection.ok()) << protection.status();
  // Whatever is hidden, G is no longer the difference of published cells.
  bool a_shows_g = !linked[0].suppressed[1] && !linked[1].suppressed[1];
  EXPECT_FALSE(a_shows_g);
  if (protection->complete) EXPECT_GT(protection->added, 0);
}

}  // namespace
}  // namespace trenode::disclosure
