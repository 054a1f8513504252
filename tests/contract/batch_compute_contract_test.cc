// The ComputeBackend contract (tests/contract/compute_backend_contract.h) on
// AWS Batch and Azure Batch: each fake service checks every signature and
// runs the real job runner, which reaches the store (s3rver, Azurite) only
// through presigned URLs.
#include "tests/contract/compute_backend_contract.h"
#include "tests/testutil/cloud_batch_backends.h"

namespace trenode::adapters {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(AwsBatch, ComputeBackendContractTest,
                               ::testing::Types<testing::AwsBatchFactory>);
INSTANTIATE_TYPED_TEST_SUITE_P(AzureBatch, ComputeBackendContractTest,
                               ::testing::Types<testing::AzureBatchFactory>);

}  // namespace
}  // namespace trenode::adapters
