// Measuring calls per second for the trenode benchmark programs.
#ifndef TRENODE_TESTS_BENCH_THROUGHPUT_H_
#define TRENODE_TESTS_BENCH_THROUGHPUT_H_

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace trenode::bench {

// Calls `call(thread, i)` from `threads` threads for `duration` and returns
// the calls completed per second of wall time. Each thread numbers its calls
// from thread x 7919 upwards, so threads ask for different keys. If any call
// returns false the program exits with status 1 after printing
// "<program>: a call failed" to stderr: a benchmark never reports a rate made
// of failures.
double CallsPerSecond(std::string_view program, int threads, absl::Duration duration,
                      const std::function<bool(int thread, uint64_t i)>& call);

// The middle value of `values` (the upper middle for an even count); `values`
// must not be empty.
double Median(std::vector<double> values);

}  // namespace trenode::bench

#endif  // TRENODE_TESTS_BENCH_THROUGHPUT_H_
