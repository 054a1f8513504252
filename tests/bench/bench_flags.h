// The command line of the trenode benchmark programs: `--name VALUE` flags,
// plus --help (or -h) for the usage. Every benchmark parses its flags with
// ParseBenchFlags before it starts, so none runs on a command line it does
// not understand. Use from main only; not thread-safe.
#ifndef TRENODE_TESTS_BENCH_BENCH_FLAGS_H_
#define TRENODE_TESTS_BENCH_BENCH_FLAGS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trenode::bench {

// One `--name VALUE` flag: its name with the dashes, and what takes VALUE.
struct BenchFlag {
  // A whole number within [min, max] into `*target`.
  BenchFlag(std::string name, int* target, int64_t min = 1,
            int64_t max = std::numeric_limits<int>::max());
  BenchFlag(std::string name, int64_t* target, int64_t min = 1,
            int64_t max = std::numeric_limits<int64_t>::max());
  // A number above zero into `*target`.
  BenchFlag(std::string name, double* target);
  // Any other value: `set` returns false if VALUE is not acceptable.
  BenchFlag(std::string name, std::function<bool(const std::string&)> set);

  std::string name;
  std::function<bool(const std::string&)> set;
};

// Parses argv[1..argc) into `flags`. Returns nullopt when the benchmark may
// run. Otherwise returns the status main should exit with: 0 after printing
// `usage` to stdout for --help or -h; 2 after printing to stderr one line
// naming the bad argument (an unknown flag, a flag without its value, a value
// not acceptable) and then `usage`.
std::optional<int> ParseBenchFlags(int argc, char** argv, std::string_view usage,
                                   const std::vector<BenchFlag>& flags);

}  // namespace trenode::bench

#endif  // TRENODE_TESTS_BENCH_BENCH_FLAGS_H_
