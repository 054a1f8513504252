// The person registry on the node's real database: ordinals are stable and
// dense, record keys are random and differ between persons.
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/query/person_codes.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::query {
namespace {

std::vector<std::string> Keys(int from, int to) {
  std::vector<std::string> keys;
  for (int i = from; i < to; ++i) keys.push_back(absl::StrCat("person-", i));
  return keys;
}

TEST(PersonRegistryTest, NumbersNewPersonsOnceAndKeepsTheirCodes) {
  trenode::testing::TempDir dir;
  auto pool = storage::SqlitePool::Open(dir.File("node.db"), 2, storage::NodeSchemaMigrations());
  ASSERT_TRUE(pool.ok()) << pool.status();
  SqlitePersonRegistry registry(pool->get());
  // More persons than one block of random keys.
  auto first = registry.Codes("d1", Keys(0, 3000));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 3000u);
  std::set<uint32_t> record_keys;
  for (size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].ordinal, i + 1);
    record_keys.insert((*first)[i].record_key);
  }
  // 3000 draws of 32 random bits: a repeat is possible but rare, and a
  // key reused for every person (or every block) would show at once.
  EXPECT_GT(record_keys.size(), 2990u);

  auto again = registry.Codes("d1", Keys(2000, 4000));
  ASSERT_TRUE(again.ok()) << again.status();
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ((*again)[i].ordinal, (*first)[2000 + i].ordinal);
    EXPECT_EQ((*again)[i].record_key, (*first)[2000 + i].record_key);
  }
  for (int i = 1000; i < 2000; ++i) EXPECT_EQ((*again)[i].ordinal, 3000u + (i - 1000) + 1);

  auto other = registry.Codes("d2", Keys(0, 1));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)[0].ordinal, 1u) << "each dataset is numbered on its own";
}

}  // namespace
}  // namespace trenode::query
