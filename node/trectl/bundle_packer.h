// Packs a directory into a bundle archive (tar.gz) for `trectl analysis
// upload-bundle DIR`: regular files and directories only, paths relative to
// the directory, in a stable order, so the same files give the same hash.
#ifndef TRENODE_NODE_TRECTL_BUNDLE_PACKER_H_
#define TRENODE_NODE_TRECTL_BUNDLE_PACKER_H_

#include <string>

#include "absl/status/statusor.h"

namespace trenode::trectl {

// InvalidArgument naming anything that is not a regular file or directory.
absl::StatusOr<std::string> PackDirectory(const std::string& dir);

}  // namespace trenode::trectl

#endif  // TRENODE_NODE_TRECTL_BUNDLE_PACKER_H_
