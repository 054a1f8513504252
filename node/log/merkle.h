// RFC 9162 Merkle trees over SHA-256: leaf and interior hashing (0x00 and
// 0x01 prefixes), the root of a range, inclusion and consistency proofs and
// their verification. Pure functions; proof generation reads subtree hashes
// through a callback, so any storage can back it.
#ifndef TRENODE_NODE_LOG_MERKLE_H_
#define TRENODE_NODE_LOG_MERKLE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::log {

using Hash = std::array<uint8_t, 32>;

Hash Sha256(absl::string_view bytes);
Hash LeafHash(absl::string_view leaf);
Hash NodeHash(const Hash& left, const Hash& right);
// The root of the empty tree: SHA-256 of nothing.
Hash EmptyRoot();

// The hash's 32 bytes, and back: nullopt unless `bytes` is 32 bytes long.
std::string HashBytes(const Hash& hash);
std::optional<Hash> HashFromBytes(absl::string_view bytes);

std::string ToBase64(const Hash& hash);
// InvalidArgument unless `text` is base64 of exactly 32 bytes.
absl::StatusOr<Hash> HashFromBase64(absl::string_view text);

// The hash of the perfect subtree of 2^level leaves starting at leaf
// index * 2^level. Proof generation asks only for subtrees inside the tree.
using SubtreeHashes = std::function<absl::StatusOr<Hash>(int level, uint64_t index)>;

// MTH(D[begin:end]) as RFC 9162 defines it, from stored perfect subtrees.
absl::StatusOr<Hash> RangeHash(uint64_t begin, uint64_t end, const SubtreeHashes& subtrees);

// PATH(index, D[0:size]). InvalidArgument if index >= size.
absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size,
                                                 const SubtreeHashes& subtrees);
// PROOF(size1, D[0:size2]). InvalidArgument unless 0 < size1 <= size2.
absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2,
                                                   const SubtreeHashes& subtrees);

// OK if `proof` shows `leaf_hash` at `index` in the tree of `size` with
// `root`; otherwise InvalidArgument (malformed) or FailedPrecondition (does
// not verify), saying why.
absl::Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root);
// OK if `proof` shows the tree (size1, root1) is a prefix of (size2, root2);
// InvalidArgument for size1 == 0 (nothing to prove) or size2 < size1.
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2, const std::vector<Hash>& proof,
                               const Hash& root1, const Hash& root2);

// The right edge of a growing tree: the roots of its perfect subtrees, largest
// first, enough to append and to compute the root without the leaves.
class CompactRange {
 public:
  CompactRange() = default;
  // `peaks` are the perfect subtree roots of a tree of `size` leaves, largest
  // first (one per set bit of size). InvalidArgument if the count is wrong.
  static absl::StatusOr<CompactRange> FromPeaks(uint64_t size, std::vector<Hash> peaks);

  uint64_t size() const { return size_; }
  const std::vector<Hash>& peaks() const { return peaks_; }
  // Appends a leaf hash; `completed` (if given) receives every perfect
  // subtree this completes as (level, index, hash), smallest first,
  // including the leaf itself at level 0.
  struct Subtree {
    int level;
    uint64_t index;
    Hash hash;
  };
  void Append(const Hash& leaf_hash, std::vector<Subtree>* completed = nullptr);
  Hash Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> peaks_;
};

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_MERKLE_H_
