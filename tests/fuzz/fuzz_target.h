// One fuzz target, built two ways from the same source. With
// TRENODE_LIBFUZZER defined (the clang build, TRENODE_FUZZ=ON) it is the
// program's LLVMFuzzerTestOneInput, one harness per binary. Otherwise (the
// normal build) it is registered by name, and fuzz_replay_test runs it over
// the committed corpus tests/fuzz/corpus/<name>/, so every input that ever
// crashed a harness stays fixed.
//
//   TRENODE_FUZZ_TARGET(csv_reader) {
//     ... use data and size ...
//     return 0;
//   }
//
// A harness refuses nothing: every input must return normally. FUZZ_CHECK
// states an invariant of the code under test; a violation traps, which both
// libFuzzer and the replay test report as a crash.
#ifndef TRENODE_TESTS_FUZZ_FUZZ_TARGET_H_
#define TRENODE_TESTS_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

namespace trenode::fuzz {

using FuzzTarget = int (*)(const uint8_t* data, size_t size);

// Every target linked into this program, by name (the replay build only).
inline std::map<std::string, FuzzTarget>& FuzzTargets() {
  static auto* targets = new std::map<std::string, FuzzTarget>();
  return *targets;
}

inline bool RegisterFuzzTarget(const char* name, FuzzTarget target) {
  return FuzzTargets().emplace(name, target).second;
}

}  // namespace trenode::fuzz

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #condition); \
      __builtin_trap();                                                                       \
    }                                                                                         \
  } while (false)

#ifdef TRENODE_LIBFUZZER
#define TRENODE_FUZZ_TARGET(name)                                           \
  static int TrenodeFuzz_##name(const uint8_t* data, size_t size);          \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return TrenodeFuzz_##name(data, size);                                  \
  }                                                                         \
  static int TrenodeFuzz_##name(const uint8_t* data, size_t size)
#else
#define TRENODE_FUZZ_TARGET(name)                                      \
  static int TrenodeFuzz_##name(const uint8_t* data, size_t size);     \
  [[maybe_unused]] static const bool trenode_fuzz_registered_##name =  \
      ::trenode::fuzz::RegisterFuzzTarget(#name, &TrenodeFuzz_##name); \
  static int TrenodeFuzz_##name(const uint8_t* data, size_t size)
#endif

#endif  // TRENODE_TESTS_FUZZ_FUZZ_TARGET_H_
