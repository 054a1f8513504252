// Sets of persons as the node keeps them for the overlap audit
// (spec/disclosure.md, "Overlap audit"): sorted person ordinals (stable per
// dataset, node/query/person_codes.h) encoded compactly as a count then the
// gaps between ordinals in LEB128 varints, about 1 to 3 bytes per person.
// Pure functions; thread-safe.
#ifndef TRENODE_NODE_QUERY_PERSON_SETS_H_
#define TRENODE_NODE_QUERY_PERSON_SETS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::query {

using PersonSet = std::vector<uint32_t>;  // strictly increasing

std::string EncodePersons(const PersonSet& persons);
// DataLoss for bytes EncodePersons did not write.
absl::StatusOr<PersonSet> DecodePersons(absl::string_view bytes);
// The number of persons in an encoded set, read from its first bytes.
absl::StatusOr<int64_t> EncodedCount(absl::string_view bytes);

// |a Δ b| when it is below `limit`, else `limit`: stops as soon as the
// difference reaches the limit, so unrelated sets cost about 2 × limit steps.
int64_t SymmetricDifferenceBelow(const PersonSet& a, const PersonSet& b, int64_t limit);

// The union of disjoint or overlapping sets.
PersonSet Union(const std::vector<const PersonSet*>& sets);

// A set's sketch: how many of its persons fall in each of 64 buckets of a
// hash of the ordinal. Two sets' sketches differ (in L1) by at most their
// symmetric difference, so a sketch distance of `limit` or more proves the
// sets differ by at least that without reading them.
inline constexpr int kSketchBuckets = 64;
using Sketch = std::array<uint16_t, kSketchBuckets>;  // counts, saturating
Sketch SketchOf(const PersonSet& persons);
std::string EncodeSketch(const Sketch& sketch);  // 128 bytes
absl::StatusOr<Sketch> DecodeSketch(absl::string_view bytes);
// The L1 distance of two sketches when below `limit`, else `limit`.
int64_t SketchDistanceBelow(const Sketch& a, const Sketch& b, int64_t limit);

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_PERSON_SETS_H_
