// Builds tar.gz archives for tests, including the malformed kinds a bundle
// must never be: links, absolute paths, "..", devices.
#ifndef TRENODE_TESTS_TESTUTIL_BUNDLES_H_
#define TRENODE_TESTS_TESTUTIL_BUNDLES_H_

#include <string>
#include <vector>

namespace trenode::testing {

struct ArchiveEntry {
  enum class Kind { kFile, kDirectory, kSymlink, kHardlink, kFifo };
  std::string path;
  std::string contents;  // a file's bytes, or a link's target
  Kind kind = Kind::kFile;
};

// A gzip-compressed (POSIX pax) tar holding `entries` in order.
std::string TarGz(const std::vector<ArchiveEntry>& entries);

// A valid bundle: manifest.textproto naming `entry_point`, `datasets` and
// `outputs`, and the program at `entry_point`.
std::string ScriptBundle(const std::string& entry_point, const std::string& program,
                         const std::vector<std::string>& datasets,
                         const std::vector<std::string>& outputs);

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_BUNDLES_H_
