// The deterministic serialization of a message (map entries in key order),
// so that equal messages give equal bytes within one build: to compare,
// hash or key messages. Not a canonical form across protobuf versions.
#ifndef TRENODE_NODE_COMMON_DETERMINISTIC_BYTES_H_
#define TRENODE_NODE_COMMON_DETERMINISTIC_BYTES_H_

#include <string>

#include "google/protobuf/message_lite.h"

namespace trenode {

std::string DeterministicBytes(const google::protobuf::MessageLite& message);

}  // namespace trenode

#endif  // TRENODE_NODE_COMMON_DETERMINISTIC_BYTES_H_
