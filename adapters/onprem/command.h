// Runs a program and collects what it printed: for the command-line tools
// some backends drive (sbatch, squeue, scancel).
#ifndef TRENODE_ADAPTERS_ONPREM_COMMAND_H_
#define TRENODE_ADAPTERS_ONPREM_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace trenode::adapters {

struct CommandResult {
  int exit_code = -1;  // -1 if killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] (an absolute path) with `argv`, the node's environment plus
// `environment` ("NAME=value"), and no stdin. Unavailable if it cannot start.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& environment = {});

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_ONPREM_COMMAND_H_
