// A small deterministic random source (SplitMix64), the same sequence for the
// same seed on every platform, unlike the distributions of <random>.
#ifndef TRENODE_NODE_SYNTH_RANDOM_H_
#define TRENODE_NODE_SYNTH_RANDOM_H_

#include <cmath>
#include <cstdint>

namespace trenode::synth {

// The SplitMix64 finalizer: a bijection on 64-bit values.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return Mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return static_cast<uint64_t>(Uniform() * static_cast<double>(n)); }
  bool Chance(double p) { return Uniform() < p; }
  double Normal(double mean, double sd) {
    double u1 = 1.0 - Uniform();
    double u2 = Uniform();
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

 private:
  uint64_t state_;
};

}  // namespace trenode::synth

#endif  // TRENODE_NODE_SYNTH_RANDOM_H_
