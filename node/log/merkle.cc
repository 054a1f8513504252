#include "node/log/merkle.h"

#include <openssl/evp.h>

#include <bit>
#include <initializer_list>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::log {
namespace {

// The largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

bool IsPerfect(uint64_t begin, uint64_t end) {
  uint64_t n = end - begin;
  return std::has_single_bit(n) && begin % n == 0;
}

absl::Status Path(uint64_t m, uint64_t begin, uint64_t end, const SubtreeHashes& subtrees,
                  std::vector<Hash>& out) {
  if (end - begin <= 1) return absl::OkStatus();
  uint64_t k = SplitPoint(end - begin);
  if (m < k) {
    RETURN_IF_ERROR(Path(m, begin, begin + k, subtrees, out));
    ASSIGN_OR_RETURN(Hash right, RangeHash(begin + k, end, subtrees));
    out.push_back(right);
  } else {
    RETURN_IF_ERROR(Path(m - k, begin + k, end, subtrees, out));
    ASSIGN_OR_RETURN(Hash left, RangeHash(begin, begin + k, subtrees));
    out.push_back(left);
  }
  return absl::OkStatus();
}

absl::Status SubProof(uint64_t m, uint64_t begin, uint64_t end, bool whole,
                      const SubtreeHashes& subtrees, std::vector<Hash>& out) {
  uint64_t n = end - begin;
  if (m == n) {
    if (!whole) {
      ASSIGN_OR_RETURN(Hash hash, RangeHash(begin, end, subtrees));
      out.push_back(hash);
    }
    return absl::OkStatus();
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    RETURN_IF_ERROR(SubProof(m, begin, begin + k, whole, subtrees, out));
    ASSIGN_OR_RETURN(Hash right, RangeHash(begin + k, end, subtrees));
    out.push_back(right);
  } else {
    RETURN_IF_ERROR(SubProof(m - k, begin + k, end, false, subtrees, out));
    ASSIGN_OR_RETURN(Hash left, RangeHash(begin, begin + k, subtrees));
    out.push_back(left);
  }
  return absl::OkStatus();
}

absl::Status Mismatch(absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat("the proof does not verify: ", what));
}

}  // namespace

namespace {

// SHA-256 of the concatenated parts. The digest is fetched once and each
// thread reuses one context: OpenSSL 3's one-shot SHA256() looks the
// algorithm up (under a lock) on every call, which costs more than hashing
// an event record.
Hash Digest(std::initializer_list<absl::string_view> parts) {
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct FreeContext {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, FreeContext> context(EVP_MD_CTX_new());
  Hash out;
  bool ok = kSha256 != nullptr && context != nullptr &&
            EVP_DigestInit_ex2(context.get(), kSha256, nullptr) == 1;
  for (absl::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(context.get(), part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(context.get(), out.data(), nullptr) == 1;
  if (!ok) std::abort();  // only if OpenSSL cannot allocate or lacks SHA-256
  return out;
}

absl::string_view View(const Hash& hash) {
  return absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size());
}

}  // namespace

Hash Sha256(absl::string_view bytes) { return Digest({bytes}); }

Hash LeafHash(absl::string_view leaf) { return Digest({absl::string_view("\0", 1), leaf}); }

Hash NodeHash(const Hash& left, const Hash& right) {
  return Digest({absl::string_view("\1", 1), View(left), View(right)});
}

Hash EmptyRoot() { return Sha256(""); }

std::string HashBytes(const Hash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

std::optional<Hash> HashFromBytes(absl::string_view bytes) {
  if (bytes.size() != 32) return std::nullopt;
  Hash hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

std::string ToBase64(const Hash& hash) { return absl::Base64Escape(HashBytes(hash)); }

absl::StatusOr<Hash> HashFromBase64(absl::string_view text) {
  std::string bytes;
  std::optional<Hash> hash;
  if (absl::Base64Unescape(text, &bytes)) hash = HashFromBytes(bytes);
  if (!hash) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a base64 SHA-256 hash"));
  }
  return *hash;
}

absl::StatusOr<Hash> RangeHash(uint64_t begin, uint64_t end, const SubtreeHashes& subtrees) {
  if (begin >= end) {
    if (begin == 0 && end == 0) return EmptyRoot();
    return absl::InvalidArgumentError("an empty range inside a tree has no hash");
  }
  if (IsPerfect(begin, end)) {
    int level = std::countr_zero(end - begin);
    return subtrees(level, begin >> level);
  }
  uint64_t k = SplitPoint(end - begin);
  ASSIGN_OR_RETURN(Hash left, RangeHash(begin, begin + k, subtrees));
  ASSIGN_OR_RETURN(Hash right, RangeHash(begin + k, end, subtrees));
  return NodeHash(left, right);
}

absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size,
                                                 const SubtreeHashes& subtrees) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("index ", index, " is not in a tree of size ", size));
  }
  std::vector<Hash> proof;
  RETURN_IF_ERROR(Path(index, 0, size, subtrees, proof));
  return proof;
}

absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2,
                                                   const SubtreeHashes& subtrees) {
  if (size1 == 0 || size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("no consistency proof from size ", size1, " to size ", size2));
  }
  std::vector<Hash> proof;
  RETURN_IF_ERROR(SubProof(size1, 0, size2, true, subtrees, proof));
  return proof;
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("index ", index, " is not in a tree of size ", size));
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Mismatch("the proof is longer than the tree is deep");
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Mismatch("the proof is shorter than the tree is deep");
  if (r != root) return Mismatch("the computed root differs from the expected root");
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t size1, uint64_t size2, const std::vector<Hash>& proof,
                               const Hash& root1, const Hash& root2) {
  if (size2 < size1) {
    return absl::InvalidArgumentError(
        absl::StrCat("size ", size2, " is smaller than size ", size1));
  }
  if (size1 == 0) {
    return absl::InvalidArgumentError("there is no consistency proof from the empty tree");
  }
  if (size1 == size2) {
    if (!proof.empty()) return Mismatch("equal sizes need an empty proof");
    if (root1 != root2) return Mismatch("equal sizes with different roots");
    return absl::OkStatus();
  }
  if (proof.empty()) return Mismatch("the proof is empty");
  std::vector<Hash> path = proof;
  if (std::has_single_bit(size1)) path.insert(path.begin(), root1);
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Mismatch("the proof is longer than needed");
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Mismatch("the proof is shorter than needed");
  if (fr != root1) return Mismatch("it does not lead to the first root");
  if (sr != root2) return Mismatch("it does not lead to the second root");
  return absl::OkStatus();
}

absl::StatusOr<CompactRange> CompactRange::FromPeaks(uint64_t size, std::vector<Hash> peaks) {
  if (static_cast<size_t>(std::popcount(size)) != peaks.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a tree of size ", size, " has ", std::popcount(size), " peaks, not ", peaks.size()));
  }
  CompactRange range;
  range.size_ = size;
  range.peaks_ = std::move(peaks);
  return range;
}

void CompactRange::Append(const Hash& leaf_hash, std::vector<Subtree>* completed) {
  Hash hash = leaf_hash;
  uint64_t index = size_;
  int level = 0;
  if (completed) completed->push_back({0, index, hash});
  for (uint64_t s = size_; (s & 1) == 1; s >>= 1) {
    hash = NodeHash(peaks_.back(), hash);
    peaks_.pop_back();
    ++level;
    index >>= 1;
    if (completed) completed->push_back({level, index, hash});
  }
  peaks_.push_back(hash);
  ++size_;
}

Hash CompactRange::Root() const {
  if (peaks_.empty()) return EmptyRoot();
  Hash root = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) root = NodeHash(peaks_[i], root);
  return root;
}

}  // namespace trenode::log
