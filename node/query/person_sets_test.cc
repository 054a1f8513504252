#include "node/query/person_sets.h"

#include <random>

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

TEST(PersonSetsTest, UnionMergesSets) {
  PersonSet a = {1, 4, 9}, b = {2, 4, 10};
  EXPECT_EQ(Union({&a, &b}), (PersonSet{1, 2, 4, 9, 10}));
}

}  // namespace
}  // namespace trenode::query
