// The cloud batch compute backend a node's config selects
// (compute.aws_batch or compute.azure_batch), on the node's object store,
// which must be the same cloud's (jobs are staged there).
#ifndef TRENODE_NODE_SERVER_CLOUD_COMPUTE_FROM_CONFIG_H_
#define TRENODE_NODE_SERVER_CLOUD_COMPUTE_FROM_CONFIG_H_

#include <memory>

#include "absl/status/statusor.h"
#include "adapters/compute_backend.h"
#include "adapters/object_store.h"
#include "trenode/v1/config.pb.h"

namespace trenode::server {

// Errors name the config field ("compute.aws_batch.job_queue: ...");
// FailedPrecondition if the object store is not the same cloud's or cannot
// presign. The service is not asked anything at start for AWS Batch (a
// SubmitJob is the only call that checks a queue); Azure's job is made or
// checked.
absl::StatusOr<std::unique_ptr<adapters::ComputeBackend>> CloudComputeFrom(
    const trenode::v1::NodeConfig& config, adapters::ObjectStore* objects);

}  // namespace trenode::server

#endif  // TRENODE_NODE_SERVER_CLOUD_COMPUTE_FROM_CONFIG_H_
