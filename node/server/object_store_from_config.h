// The object store a node's config selects (posix, S3 or Azure Blob), and the local files
// its dataset readers use: the POSIX store's own files, or checked copies of
// a cloud store's objects under work_dir/dataset-cache.
#ifndef TRENODE_NODE_SERVER_OBJECT_STORE_FROM_CONFIG_H_
#define TRENODE_NODE_SERVER_OBJECT_STORE_FROM_CONFIG_H_

#include <memory>

#include "absl/status/statusor.h"
#include "adapters/object_files.h"
#include "adapters/object_store.h"
#include "trenode/v1/config.pb.h"

namespace trenode::server {

struct NodeObjects {
  std::unique_ptr<adapters::ObjectStore> store;
  std::unique_ptr<adapters::ObjectFiles> files;
};

// A cloud store is asked once that it is reachable with the credentials
// found, so that a wrong bucket, endpoint or key stops the node at start
// (saying why in full); after that its errors are quieted
// (adapters/quiet_object_store.h): their detail goes to the node's log, not
// to the caller of an RPC.
// Errors name the config field ("object_store.s3.bucket: ...").
absl::StatusOr<NodeObjects> ObjectsFrom(const trenode::v1::NodeConfig& config);

}  // namespace trenode::server

#endif  // TRENODE_NODE_SERVER_OBJECT_STORE_FROM_CONFIG_H_
