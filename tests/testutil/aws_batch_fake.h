// AWS Batch for tests: tests/emulators/fake_aws_batch.py, which checks each
// request's SigV4 signature independently of the node's signer and runs each
// job's container (the real job runner, TRENODE_JOB_RUNNER) in bubblewrap.
// One per test program, started on first use; it knows the S3 emulator's
// key (S3Emulator::kAccessKey).
#ifndef TRENODE_TESTS_TESTUTIL_AWS_BATCH_FAKE_H_
#define TRENODE_TESTS_TESTUTIL_AWS_BATCH_FAKE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/aws/aws_batch_service.h"
#include "tests/testutil/server_process.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::testing {

class AwsBatchFake {
 public:
  // nullptr (with a test failure) if it cannot start.
  static AwsBatchFake* Get();

  static constexpr char kQueue[] = "trenode-jobs";
  static constexpr char kDefinition[] = "trenode-job-runner:1";

  std::string endpoint() const;
  // Options for a service on the fake's queue and definition, in `region`,
  // with quick retries.
  adapters::aws::AwsBatchOptions Options(const std::string& region) const;
  // Steers the fake (see fake_aws_batch.py): a JSON object.
  absl::Status Control(const std::string& json);
  // The fake's counter `name` ("requests", "refused", "throttled", ...).
  absl::StatusOr<int64_t> Counter(const std::string& name);

 private:
  AwsBatchFake() = default;
  absl::Status Start();
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_AWS_BATCH_FAKE_H_
