// Reading and replacing whole (small) files: configuration, keys,
// certificates, metadata, the log's checkpoint copy.
#ifndef TRENODE_NODE_COMMON_FILES_H_
#define TRENODE_NODE_COMMON_FILES_H_

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trenode {

// The file's bytes, or nullopt if it cannot be opened. Callers say what the
// file was for in their own errors.
inline std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Replaces the file at `path` with `bytes` so that a crash leaves the old or
// the new file, never a mix: written to a temporary beside it, flushed to
// disk, renamed over it, and the directory flushed. Unavailable on failure.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes);

}  // namespace trenode

#endif  // TRENODE_NODE_COMMON_FILES_H_
