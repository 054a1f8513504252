// S3 for tests: s3rver (npm, tests/emulators) behind tests/emulators/
// sigv4_proxy.py, which checks every request's signature independently of
// the node's signer and injects faults on request. One per test program,
// started on first use.
#ifndef TRENODE_TESTS_TESTUTIL_S3_EMULATOR_H_
#define TRENODE_TESTS_TESTUTIL_S3_EMULATOR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/aws/s3_object_store.h"
#include "tests/testutil/server_process.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::testing {

class S3Emulator {
 public:
  // The emulator of this test program; nullptr (with a test failure) if it
  // cannot start.
  static S3Emulator* Get();

  // The proxy's address, as an S3 endpoint.
  std::string endpoint() const;
  // The access key the proxy knows from the start, and its secret.
  static constexpr char kAccessKey[] = "AKIATRENODETEST00001";
  static constexpr char kSecret[] = "trenode/test/secret/key/0000000000000000";

  // Options for a store on a new, empty bucket (path-style, small pages and
  // parts, quick retries), with the bucket created.
  absl::StatusOr<adapters::aws::S3Options> NewBucket();
  // Steers the proxy (see sigv4_proxy.py): a JSON object.
  absl::Status Control(const std::string& json);
  // The proxy's counter `name` ("requests", "refused", "throttled", ...).
  absl::StatusOr<int64_t> Counter(const std::string& name);
  // The proxy's state as JSON (counters, and the headers last signed).
  absl::StatusOr<std::string> State();

 private:
  S3Emulator() = default;
  absl::Status Start();
  TempDir dir_;
  std::unique_ptr<ServerProcess> s3rver_;
  std::unique_ptr<ServerProcess> proxy_;
  int buckets_ = 0;
};

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_S3_EMULATOR_H_
