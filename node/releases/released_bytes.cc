#include "node/releases/released_bytes.h"

#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/log/merkle.h"

namespace trenode::releases {

absl::StatusOr<std::string> ReadReleasedBytes(adapters::ObjectStore& objects,
                                              const std::string& key,
                                              const std::string& expected_sha256,
                                              size_t max_bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<adapters::ObjectReader> reader, objects.OpenRead(key));
  std::string content;
  while (true) {
    ASSIGN_OR_RETURN(std::string chunk, reader->Read(1 << 20));
    if (chunk.empty()) break;
    if (content.size() + chunk.size() > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the file is larger than ", max_bytes, " bytes"));
    }
    content += chunk;
  }
  std::string sha256 = absl::BytesToHexString(log::HashBytes(log::Sha256(content)));
  if (sha256 != expected_sha256) {
    std::cerr << "trenode: " << key << " has SHA-256 " << sha256 << ", not the reviewed "
              << expected_sha256 << ": it was changed in the object store; not sent\n";
    return absl::DataLossError(
        "the stored file is not the one that was reviewed; it was not sent, and the node's "
        "staff can see why in its log");
  }
  return content;
}

}  // namespace trenode::releases
