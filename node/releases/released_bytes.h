// The bytes of a released (or under-review) file as they leave the node:
// read whole from the object store and checked against the SHA-256 the
// release recorded when it was reviewed, so that nothing but the reviewed
// bytes is ever sent, whoever could write to the store meanwhile.
#ifndef TRENODE_NODE_RELEASES_RELEASED_BYTES_H_
#define TRENODE_NODE_RELEASES_RELEASED_BYTES_H_

#include <string>

#include "absl/status/statusor.h"
#include "adapters/object_store.h"

namespace trenode::releases {

// The object at `key`, if its SHA-256 (hex) is `expected_sha256`:
// DataLoss if not (the detail goes to the node's log, the caller gets a
// plain sentence); ResourceExhausted past `max_bytes`.
absl::StatusOr<std::string> ReadReleasedBytes(adapters::ObjectStore& objects,
                                              const std::string& key,
                                              const std::string& expected_sha256,
                                              size_t max_bytes);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_RELEASED_BYTES_H_
