// The ComputeBackend contract (tests/contract/compute_backend_contract.h) on
// AWS Batch: the fake service checks every signature and runs the real job
// runner, which reaches the S3 emulator only through presigned URLs.
#include "tests/contract/compute_backend_contract.h"
#include "tests/testutil/cloud_batch_backends.h"

namespace trenode::adapters {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(AwsBatch, ComputeBackendContractTest,
                               ::testing::Types<testing::AwsBatchFactory>);

}  // namespace
}  // namespace trenode::adapters
