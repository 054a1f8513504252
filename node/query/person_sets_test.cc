#include "node/query/person_sets.h"

#include <random>
#include <set>

#include "gtest/gtest.h"

namespace trenode::query {
namespace {
using namespace std::string_literals;

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

// The bytes are what every node has stored: count, then the first ordinal
// and each gap, LEB128.
TEST(PersonSetsTest, TheEncodingIsTheStoredFormat) {
  EXPECT_EQ(EncodePersons({}), "\x00"s);
  EXPECT_EQ(EncodePersons({3, 9, 200}), "\x03\x03\x06\xbf\x01"s);
  EXPECT_EQ(EncodePersons({0, 128, 16512, UINT32_MAX}),
            "\x04\x00\x80\x01\x80\x80\x01\xff\xfe\xfe\xff\x0f"s);
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::set<uint32_t> drawn;
    const uint32_t spread = 1u << (random() % 32);
    for (int i = 0, n = static_cast<int>(random() % 500); i < n; ++i) {
      drawn.insert(static_cast<uint32_t>(random() % spread));
    }
    PersonSet persons(drawn.begin(), drawn.end());
    auto decoded = DecodePersons(EncodePersons(persons));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, persons);
  }
}

TEST(PersonSetsTest, AGapPastTheLargestOrdinalIsDataLossEvenWhereItWouldWrap) {
  // One person, then a gap of 2^64 - 1: the sum would wrap around to a
  // small ordinal.
  const std::string bytes = "\x02\x05\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s;
  EXPECT_EQ(DecodePersons(bytes).status().code(), absl::StatusCode::kDataLoss);
  // A gap just past the largest ordinal.
  EXPECT_EQ(DecodePersons("\x01\x80\x80\x80\x80\x10"s).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(*DecodePersons("\x01\xff\xff\xff\xff\x0f"s), PersonSet{UINT32_MAX});
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
