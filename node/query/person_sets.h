// Sets of persons as the node keeps them for the overlap audit
// (spec/disclosure.md, "Overlap audit"): sorted person ordinals (stable per
// dataset, node/query/person_codes.h) encoded compactly as a count then the
// gaps between ordinals in LEB128 varints, about 1 to 3 bytes per person.
// Pure functions; thread-safe.
#ifndef TRENODE_NODE_QUERY_PERSON_SETS_H_
#define TRENODE_NODE_QUERY_PERSON_SETS_H_

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

}  // namespace trenode::query

#endif  // TRENODE_NODE_QUERY_PERSON_SETS_H_
