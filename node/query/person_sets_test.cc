#include "node/query/person_sets.h"

#include <random>
#include <set>

#include "gtest/gtest.h"

namespace trenode::query {
namespace {

TEST(PersonSetsTest, EncodingRoundTripsCompactly) {
  PersonSet persons;
  for (uint32_t i = 1; i <= 100000; i += 7) persons.push_back(i);
  persons.push_back(UINT32_MAX);
  std::string bytes = EncodePersons(persons);
  EXPECT_LT(bytes.size(), persons.size() + 16);  // gaps of 7: one byte each
  EXPECT_EQ(*DecodePersons(bytes), persons);
  EXPECT_EQ(*EncodedCount(bytes), static_cast<int64_t>(persons.size()));
  EXPECT_EQ(*DecodePersons(EncodePersons({})), PersonSet{});
}

TEST(PersonSetsTest, CorruptBytesAreDataLoss) {
  std::string bytes = EncodePersons({3, 9, 200});
  EXPECT_EQ(DecodePersons(bytes.substr(0, bytes.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodePersons(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodePersons("\x02\x05\x00").status().code(), absl::StatusCode::kDataLoss);
}

TEST(PersonSetsTest, SymmetricDifferenceStopsAtTheLimit) {
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    PersonSet a, b;
    for (uint32_t i = 0; i < 60; ++i) {
      if (random() % 3 != 0) a.push_back(i);
      if (random() % 3 != 0) b.push_back(i);
    }
    int64_t truth = 0;
    for (uint32_t i = 0; i < 60; ++i) {
      truth += std::binary_search(a.begin(), a.end(), i) != std::binary_search(b.begin(), b.end(), i);
    }
    for (int64_t limit : {1, 5, 10, 100}) {
      EXPECT_EQ(SymmetricDifferenceBelow(a, b, limit), std::min(truth, limit));
    }
  }
}

// The sketch distance never exceeds the true difference (so it never
// rejects a close pair) and rejects unrelated sets at once.
TEST(PersonSetsTest, SketchDistanceIsALowerBoundOfTheDifference) {
  std::mt19937 random(11);
  for (int round = 0; round < 200; ++round) {
    PersonSet a, b;
    for (uint32_t i = 0; i < 3000; ++i) {
      bool in_a = random() % 2 == 0;
      if (in_a) a.push_back(i);
      if (in_a != (random() % 300 == 0)) b.push_back(i);  // about 10 changed
    }
    int64_t truth = SymmetricDifferenceBelow(a, b, 1000000);
    EXPECT_LE(SketchDistanceBelow(SketchOf(a), SketchOf(b), 1000000), truth);
  }
  PersonSet odd, even;
  for (uint32_t i = 0; i < 2000; ++i) (i % 2 ? odd : even).push_back(i);
  EXPECT_EQ(SketchDistanceBelow(SketchOf(odd), SketchOf(even), 10), 10);
  Sketch round_trip = *DecodeSketch(EncodeSketch(SketchOf(odd)));
  EXPECT_EQ(round_trip, SketchOf(odd));
}

TEST(PersonSetsTest, UnionMergesSets) {
  PersonSet a = {1, 4, 9}, b = {2, 4, 10};
  EXPECT_EQ(Union({&a, &b}), (PersonSet{1, 2, 4, 9, 10}));
  EXPECT_EQ(Union({}), PersonSet{});
  EXPECT_EQ(Union({&a}), a);
}

// Any number of overlapping sets: the sorted distinct persons of them all.
TEST(PersonSetsTest, UnionOfManySetsIsTheirSortedDistinctPersons) {
  std::mt19937 random(15);
  for (int round = 0; round < 200; ++round) {
    std::vector<PersonSet> sets(random() % 9);
    std::set<uint32_t> all;
    for (PersonSet& set : sets) {
      std::set<uint32_t> members;
      for (int i = static_cast<int>(random() % 50); i > 0; --i) members.insert(random() % 200);
      set.assign(members.begin(), members.end());
      all.insert(members.begin(), members.end());
    }
    std::vector<const PersonSet*> parts;
    for (const PersonSet& set : sets) parts.push_back(&set);
    EXPECT_EQ(Union(parts), PersonSet(all.begin(), all.end())) << "round " << round;
  }
}

}  // namespace
}  // namespace trenode::query
