// Reading a whole (small) file: configuration, keys, certificates, metadata.
#ifndef TRENODE_NODE_COMMON_FILES_H_
#define TRENODE_NODE_COMMON_FILES_H_

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

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

}  // namespace trenode

#endif  // TRENODE_NODE_COMMON_FILES_H_
