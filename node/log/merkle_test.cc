#include "node/log/merkle.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/escaping.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace trenode::log {
namespace {
namespace fs = std::filesystem;
using google::protobuf::Struct;

// An in-memory tree: every perfect subtree hash, as the log store keeps them.
class MemoryTree {
 public:
  void Append(absl::string_view leaf) {
    std::vector<CompactRange::Subtree> completed;
    range_.Append(LeafHash(leaf), &completed);
    for (const auto& s : completed) nodes_[{s.level, s.index}] = s.hash;
  }
  SubtreeHashes Subtrees() const {
    return [this](int level, uint64_t index) -> absl::StatusOr<Hash> {
      auto it = nodes_.find({level, index});
      if (it == nodes_.end()) return absl::NotFoundError("no such subtree");
      return it->second;
    };
  }
  const CompactRange& range() const { return range_; }

 private:
  CompactRange range_;
  std::map<std::pair<int, uint64_t>, Hash> nodes_;
};

// The classic 8-leaf tree from RFC 6962's test data.
const std::vector<std::string> kLeaves = {
    "",
    std::string(1, '\x00'),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
const char* kRoots[] = {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::string Hex(const Hash& hash) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(hash.data()), 32));
}

TEST(MerkleTest, ClassicEightLeafRoots) {
  MemoryTree tree;
  EXPECT_EQ(Hex(tree.range().Root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (size_t i = 0; i < kLeaves.size(); ++i) {
    tree.Append(kLeaves[i]);
    EXPECT_EQ(Hex(tree.range().Root()), kRoots[i]) << "size " << i + 1;
    EXPECT_EQ(Hex(*RangeHash(0, i + 1, tree.Subtrees())), kRoots[i]);
  }
}

TEST(MerkleTest, GeneratedProofsVerifyForEverySizeAndIndex) {
  MemoryTree tree;
  std::vector<Hash> roots;
  for (int n = 1; n <= 70; ++n) {
    tree.Append("leaf " + std::to_string(n - 1));
    roots.push_back(tree.range().Root());
    for (int i = 0; i < n; ++i) {
      auto proof = InclusionProof(i, n, tree.Subtrees());
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(
          VerifyInclusion(i, n, LeafHash("leaf " + std::to_string(i)), *proof, roots.back()).ok())
          << i << " in " << n;
      EXPECT_FALSE(VerifyInclusion(i, n, LeafHash("other"), *proof, roots.back()).ok());
    }
    for (int m = 1; m <= n; ++m) {
      auto proof = ConsistencyProof(m, n, tree.Subtrees());
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(m, n, *proof, roots[m - 1], roots.back()).ok())
          << m << " to " << n;
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, *proof, roots.back(), roots.back()).ok());
      }
    }
  }
}

TEST(MerkleTest, CompactRangeRestoresFromPeaks) {
  MemoryTree tree;
  for (int i = 0; i < 13; ++i) tree.Append(std::to_string(i));
  auto restored = CompactRange::FromPeaks(13, tree.range().peaks());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->Root(), tree.range().Root());
  EXPECT_FALSE(CompactRange::FromPeaks(12, tree.range().peaks()).ok());
}

Struct ReadJson(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  Struct json;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text.str(), &json).ok()) << path;
  return json;
}

// A vector's root or proof value as a Hash. Some cases use values that are
// not 32 bytes ("don't care" roots); those map to a domain-separated digest of
// their bytes, which keeps equal values equal and can never match a real hash.
bool DecodeHash(const std::string& base64, Hash& out) {
  std::string bytes;
  if (!absl::Base64Unescape(base64, &bytes)) return false;
  if (bytes.size() == 32) {
    std::copy(bytes.begin(), bytes.end(), out.begin());
  } else {
    out = Sha256("not a SHA-256 hash: " + bytes);
  }
  return true;
}

bool Hashes(const google::protobuf::Value& list, std::vector<Hash>& out) {
  for (const auto& item : list.list_value().values()) {
    Hash hash;
    if (!DecodeHash(item.string_value(), hash)) return false;
    out.push_back(hash);
  }
  return true;
}

bool OptionalHash(const Struct& json, const std::string& field, Hash& out) {
  auto it = json.fields().find(field);
  if (it == json.fields().end() ||
      it->second.kind_case() != google::protobuf::Value::kStringValue) {
    return false;
  }
  return DecodeHash(it->second.string_value(), out);
}

// JSON numbers arrive as doubles: 2^64 - 1 rounds up to 2^64, so saturate.
uint64_t Size(const google::protobuf::Value& number) {
  double value = number.number_value();
  if (value >= 18446744073709551615.0) return UINT64_MAX;
  return static_cast<uint64_t>(value);
}

std::vector<fs::path> Cases(const std::string& kind) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(TRENODE_SOURCE_DIR) /
                                                            "tests/testdata/merkle" / kind)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(MerkleGoldenTest, EveryInclusionCase) {
  auto files = Cases("inclusion");
  ASSERT_GT(files.size(), 50u);
  int rejected = 0;
  for (const auto& file : files) {
    Struct json = ReadJson(file);
    const auto& f = json.fields();
    bool want_error = f.at("wantErr").bool_value();
    std::vector<Hash> proof;
    Hash root{}, leaf{};
    // A leaf hash must be a SHA-256 hash; anything else is refused.
    auto leaf_hash = HashFromBase64(f.at("leafHash").string_value());
    if (leaf_hash.ok()) leaf = *leaf_hash;
    bool well_formed =
        leaf_hash.ok() && Hashes(f.at("proof"), proof) && OptionalHash(json, "root", root);
    absl::Status status = well_formed ? VerifyInclusion(Size(f.at("leafIdx")),
                                                        Size(f.at("treeSize")), leaf, proof, root)
                                      : absl::InvalidArgumentError("malformed");
    EXPECT_EQ(!status.ok(), want_error) << file << ": " << status;
    rejected += want_error;
  }
  EXPECT_GT(rejected, 0);
}

TEST(MerkleGoldenTest, EveryConsistencyCase) {
  auto files = Cases("consistency");
  ASSERT_GT(files.size(), 50u);
  for (const auto& file : files) {
    Struct json = ReadJson(file);
    const auto& f = json.fields();
    bool want_error = f.at("wantErr").bool_value();
    std::vector<Hash> proof;
    Hash root1{}, root2{};
    bool well_formed = Hashes(f.at("proof"), proof) && OptionalHash(json, "root1", root1) &&
                       OptionalHash(json, "root2", root2);
    absl::Status status = well_formed ? VerifyConsistency(Size(f.at("size1")), Size(f.at("size2")),
                                                          proof, root1, root2)
                                      : absl::InvalidArgumentError("malformed");
    EXPECT_EQ(!status.ok(), want_error) << file << ": " << status;
  }
}

}  // namespace
}  // namespace trenode::log
