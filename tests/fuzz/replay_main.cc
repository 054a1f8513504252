// fuzz_replay_test TARGET CORPUS_DIR: runs fuzz target TARGET over every
// file in CORPUS_DIR, as libFuzzer would, with the normal compiler. Exit 0
// if every input returns; a harness check or a crash ends the program with
// the input's path on stderr. An empty or missing corpus is a failure too
// (a replay that replays nothing proves nothing).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include "node/common/files.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

// The input being replayed, for the crash handler (no allocation there).
char current_input[4096];

void ReportCrash(int signal_number) {
  const char prefix[] = "\nfuzz_replay_test: crashed on ";
  (void)!write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
  (void)!write(STDERR_FILENO, current_input, strlen(current_input));
  (void)!write(STDERR_FILENO, "\n", 1);
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

}  // namespace

int main(int argc, char** argv) {
  const auto& targets = trenode::fuzz::FuzzTargets();
  if (argc != 3 || !targets.contains(argv[1])) {
    std::cerr << "usage: fuzz_replay_test TARGET CORPUS_DIR\ntargets:";
    for (const auto& [name, target] : targets) std::cerr << " " << name;
    std::cerr << "\n";
    return 2;
  }
  for (int signal_number : {SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE}) {
    signal(signal_number, ReportCrash);
  }
  std::vector<std::filesystem::path> inputs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(argv[2], ec)) {
    if (entry.is_regular_file()) inputs.push_back(entry.path());
  }
  if (ec || inputs.empty()) {
    std::cerr << "fuzz_replay_test: no inputs in " << argv[2] << "\n";
    return 1;
  }
  std::sort(inputs.begin(), inputs.end());
  trenode::fuzz::FuzzTarget target = targets.at(argv[1]);
  for (const std::filesystem::path& input : inputs) {
    std::optional<std::string> bytes = trenode::ReadWholeFile(input.string());
    if (!bytes) {
      std::cerr << "fuzz_replay_test: cannot read " << input << "\n";
      return 1;
    }
    std::snprintf(current_input, sizeof(current_input), "%s", input.c_str());
    target(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
  }
  std::cout << argv[1] << ": replayed " << inputs.size() << " inputs from " << argv[2] << "\n";
  return 0;
}
