// Azurite, the Azure Storage emulator (tests/emulators, pinned at 3.35.0; it
// checks Shared Key signatures and SAS tokens as Azure does), for the tests:
// one per test program, started on first use on a free loopback port with its
// data in a temporary directory, stopped when the program exits.
#ifndef TRENODE_TESTS_TESTUTIL_AZURITE_H_
#define TRENODE_TESTS_TESTUTIL_AZURITE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "adapters/azure/connection_string.h"
#include "tests/testutil/server_process.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::testing {

class Azurite {
 public:
  // The program's Azurite, started if it is not yet running.
  static absl::StatusOr<Azurite*> Get();

  // The development account (devstoreaccount1) with its well-known key.
  adapters::azure::AzureStorageAccount account() const;
  // The same account reached through `port` on loopback (a proxy in front).
  adapters::azure::AzureStorageAccount AccountVia(int port) const;
  int port() const { return server_->port(); }
  // Creates a container with a name no other call returns, and returns it.
  absl::StatusOr<std::string> NewContainer();

 private:
  Azurite() = default;
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  int containers_made_ = 0;
};

// A test fixture with the program's Azurite and a new container of its own.
class AzuriteContainerTest : public ::testing::Test {
 protected:
  void SetUp() override;

  Azurite* azurite_ = nullptr;
  std::string container_;
};

// Runs tests/emulators/fault_proxy.py in front of `upstream_port` on a free
// loopback port, with `flags` (see the script's --help).
absl::StatusOr<std::unique_ptr<ServerProcess>> StartFaultProxy(
    int upstream_port, const std::vector<std::string>& flags, const std::string& log_file);

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_AZURITE_H_
