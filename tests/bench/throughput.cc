#include "tests/bench/throughput.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "absl/time/clock.h"

namespace trenode::bench {

double CallsPerSecond(std::string_view program, int threads, absl::Duration duration,
                      const std::function<bool(int thread, uint64_t i)>& call) {
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::vector<uint64_t> counts(threads, 0);
  std::vector<std::thread> workers;
  const absl::Time start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      uint64_t i = static_cast<uint64_t>(t) * 7919;
      while (!stop.load(std::memory_order_relaxed)) {
        if (!call(t, i++)) {
          failed = true;
          return;
        }
        ++counts[t];
      }
    });
  }
  absl::SleepFor(duration);
  stop = true;
  for (auto& worker : workers) worker.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  if (failed) {
    std::cerr << program << ": a call failed\n";
    std::exit(1);
  }
  uint64_t total = 0;
  for (uint64_t count : counts) total += count;
  return static_cast<double>(total) / elapsed;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace trenode::bench
