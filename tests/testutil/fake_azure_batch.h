// tests/emulators/fake_azure_batch.py for the tests: a fake Azure Batch
// service on a free loopback port that checks Shared Key signatures and the
// api-version independently of the adapter, and runs each task's runner as
// a container would (tests/emulators/container.py). Stopped when this object
// goes, and with the test program if that dies first.
#ifndef TRENODE_TESTS_TESTUTIL_FAKE_AZURE_BATCH_H_
#define TRENODE_TESTS_TESTUTIL_FAKE_AZURE_BATCH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/testutil/server_process.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::testing {

class FakeAzureBatch {
 public:
  // The fake's account and its key (base64).
  static constexpr char kAccount[] = "trebatch";
  static constexpr char kKey[] = "dHJlbm9kZSBmYWtlIGF6dXJlIGJhdGNoIGFjY291bnQga2V5IQ==";

  // Starts the fake; `runner` (an executable, e.g. a /bin/sh script) stands
  // in for the job runner in the image. Task logs go to a temporary directory.
  static absl::StatusOr<std::unique_ptr<FakeAzureBatch>> Start(const std::string& runner);

  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  // The next `requests` service requests are answered 503 ServerBusy.
  absl::Status Throttle(int requests);
  struct Counters {
    int requests = 0;   // service requests (not control ones)
    int refused = 0;    // refused for their signature or date
    int throttled = 0;  // answered 503 by Throttle
  };
  absl::StatusOr<Counters> counters();
  // Everything the fake and its tasks wrote (for failure messages).
  std::string Log() const;

 private:
  FakeAzureBatch() = default;
  absl::StatusOr<Counters> Control(const std::string& method, const std::string& body);
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_FAKE_AZURE_BATCH_H_
