// The ComputeBackend contract (tests/contract/compute_backend_contract.h) on
// the in-memory fake, the bubblewrap sandbox and Slurm.
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "adapters/compute_backend.h"
#include "tests/contract/compute_backend_contract.h"
#include "adapters/memory/memory_compute_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/compute_backends.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters {
namespace {

FakeOutcome FakeRun(const JobSpec& spec) {
  const std::string& script = spec.command.back();
  FakeOutcome outcome;
  if (script == kWrite) {
    outcome.outputs["result.csv"] = "n\n42\n";
    outcome.stdout_text = "done\n";
  } else if (script == kFail) {
    outcome.exit_code = 3;
    outcome.stderr_text = "oops\n";
  } else if (script == kSleep) {
    outcome.keep_running = true;
  } else if (script == kCountRuns) {
    outcome.outputs["runs"] = "run\n";
  }
  return outcome;
}

struct MemoryFactory {
  static std::unique_ptr<ComputeBackend> Make(const testing::TempDir& dir) {
    return std::make_unique<MemoryComputeBackend>(dir.File("outboxes"), &FakeRun);
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, ComputeBackendContractTest, ::testing::Types<MemoryFactory>);
INSTANTIATE_TYPED_TEST_SUITE_P(Sandbox, ComputeBackendContractTest,
                               ::testing::Types<testing::SandboxFactory>);
INSTANTIATE_TYPED_TEST_SUITE_P(Slurm, ComputeBackendContractTest,
                               ::testing::Types<testing::SlurmFactory>);

}  // namespace
}  // namespace trenode::adapters
