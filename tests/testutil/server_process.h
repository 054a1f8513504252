// A server the tests run as a child process on loopback (an emulator, a
// signature-checking proxy): started on a free port, ready once it accepts
// connections, stopped (SIGTERM, then SIGKILL) when this object goes, and
// killed with the test program if that dies first.
#ifndef TRENODE_TESTS_TESTUTIL_SERVER_PROCESS_H_
#define TRENODE_TESTS_TESTUTIL_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trenode::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
absl::StatusOr<int> FreeLoopbackPort();

class ServerProcess {
 public:
  // Runs `argv` (argv[0] found on PATH) with the test's environment plus
  // `environment` ("NAME=value"), its output appended to `log_file`, and waits
  // up to `patience` for 127.0.0.1:`port` to accept a connection.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::vector<std::string>& argv, const std::vector<std::string>& environment,
      int port, const std::string& log_file, absl::Duration patience = absl::Seconds(30));
  ~ServerProcess();

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:port"
  // Stops the server abruptly (SIGKILL), as a crash or a dropped link would.
  void Kill();

 private:
  ServerProcess(pid_t pid, int port) : pid_(pid), port_(port) {}
  pid_t pid_;
  int port_;
};

// The integer `"name": n` in a test server's flat JSON counters.
absl::StatusOr<int64_t> JsonCounter(const std::string& json, const std::string& name);

// The root of the source tree (for tests/emulators and the like).
std::string SourceDir();

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_SERVER_PROCESS_H_
