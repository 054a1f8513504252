#include "node/catalogue/ranked_search_cache.h"

#include "gtest/gtest.h"

namespace trenode::catalogue {
namespace {

RankedHits HitsOf(size_t n) {
  auto hits = std::make_shared<std::vector<RankedHit>>();
  for (size_t i = 0; i < n; ++i) {
    hits->push_back({static_cast<int64_t>(i), "d" + std::to_string(i), 1, 1.0 / (i + 1)});
  }
  return hits;
}

TEST(RankedSearchCacheTest, KeepsRankingsUntilTheCatalogueChanges) {
  RankedSearchCache cache;
  uint64_t before = cache.generation();
  cache.Put("\"heart\"", before, HitsOf(3));
  ASSERT_NE(cache.Find("\"heart\""), nullptr);
  EXPECT_EQ(cache.Find("\"heart\"")->size(), 3u);
  EXPECT_EQ(cache.Find("\"lung\""), nullptr);
  cache.Invalidate();
  EXPECT_EQ(cache.Find("\"heart\""), nullptr);
}

// A ranking read before a change is stale: it is not kept after it.
TEST(RankedSearchCacheTest, ARankingReadBeforeAChangeIsNotKept) {
  RankedSearchCache cache;
  uint64_t before = cache.generation();
  cache.Invalidate();  // a registration committed while the ranking was read
  cache.Put("\"heart\"", before, HitsOf(3));
  EXPECT_EQ(cache.Find("\"heart\""), nullptr);
  cache.Put("\"heart\"", cache.generation(), HitsOf(3));
  EXPECT_NE(cache.Find("\"heart\""), nullptr);
}

TEST(RankedSearchCacheTest, KeepsTheMostRecentWithinItsBounds) {
  RankedSearchCache cache(/*max_searches=*/2, /*max_hits=*/10);
  uint64_t now = cache.generation();
  cache.Put("a", now, HitsOf(4));
  cache.Put("b", now, HitsOf(4));
  ASSERT_NE(cache.Find("a"), nullptr);  // "a" is now the most recent
  cache.Put("c", now, HitsOf(4));       // over both bounds: "b" goes
  EXPECT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_NE(cache.Find("c"), nullptr);
  cache.Put("huge", now, HitsOf(11));  // longer than all it may keep
  EXPECT_EQ(cache.Find("huge"), nullptr);
  EXPECT_NE(cache.Find("a"), nullptr);
  cache.Put("d", now, HitsOf(9));  // 9 + 4 + 4 > 10: only "d" fits
  EXPECT_NE(cache.Find("d"), nullptr);
  EXPECT_EQ(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Find("c"), nullptr);
}

}  // namespace
}  // namespace trenode::catalogue
