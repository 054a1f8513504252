// Script bundles: a gzip-compressed tar of scripts with manifest.textproto at
// its root (spec/analyses.md, "Script jobs"). Every entry is checked before
// anything is written: only regular files and directories, relative paths
// that stay inside the bundle, within size and count limits.
#ifndef TRENODE_NODE_ANALYSES_BUNDLE_H_
#define TRENODE_NODE_ANALYSES_BUNDLE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trenode/v1/analyses.pb.h"

namespace trenode::analyses {

inline constexpr char kManifestName[] = "manifest.textproto";

struct BundleLimits {
  int64_t max_archive_bytes = int64_t{16} << 20;
  int64_t max_content_bytes = int64_t{64} << 20;  // all files, uncompressed
  int max_entries = 1000;
};

// The bundle's hash, size, files and manifest. InvalidArgument naming the
// entry or manifest field at fault; ResourceExhausted beyond `limits`.
absl::StatusOr<trenode::v1::Bundle> InspectBundle(absl::string_view archive,
                                                  const BundleLimits& limits = {});

// Writes the files of an inspected bundle under `dir` (an empty directory),
// never following or creating links.
absl::Status ExtractBundle(absl::string_view archive, const std::string& dir,
                           const BundleLimits& limits = {});

// The argv that runs `manifest`'s entry point in /job/code.
std::vector<std::string> BundleCommand(const trenode::v1::BundleManifest& manifest);

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_BUNDLE_H_
