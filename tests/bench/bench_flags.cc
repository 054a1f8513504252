#include "tests/bench/bench_flags.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace trenode::bench {
namespace {

template <typename Int>
std::function<bool(const std::string&)> WholeNumber(Int* target, int64_t min, int64_t max) {
  return [=](const std::string& text) {
    int64_t value;
    if (!absl::SimpleAtoi(text, &value) || value < min || value > max) return false;
    *target = static_cast<Int>(value);
    return true;
  };
}

}  // namespace

BenchFlag::BenchFlag(std::string name, int* target, int64_t min, int64_t max)
    : BenchFlag(std::move(name), WholeNumber(target, min, max)) {}

BenchFlag::BenchFlag(std::string name, int64_t* target, int64_t min, int64_t max)
    : BenchFlag(std::move(name), WholeNumber(target, min, max)) {}

BenchFlag::BenchFlag(std::string name, double* target)
    : BenchFlag(std::move(name), [target](const std::string& text) {
        double value;
        if (!absl::SimpleAtod(text, &value) || !(value > 0)) return false;
        *target = value;
        return true;
      }) {}

BenchFlag::BenchFlag(std::string name, std::function<bool(const std::string&)> set)
    : name(std::move(name)), set(std::move(set)) {}

std::optional<int> ParseBenchFlags(int argc, char** argv, std::string_view usage,
                                   const std::vector<BenchFlag>& flags) {
  const std::string program = std::filesystem::path(argv[0]).filename().string();
  auto refuse = [&](const std::string& error) {
    std::cerr << program << ": " << error << "\n" << usage;
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    auto flag = std::find_if(flags.begin(), flags.end(),
                             [&](const BenchFlag& known) { return known.name == arg; });
    if (flag == flags.end()) return refuse(absl::StrCat("unknown flag ", arg));
    if (i + 1 == argc) return refuse(absl::StrCat(arg, " needs a value"));
    const std::string value = argv[++i];
    if (!flag->set(value)) return refuse(absl::StrCat("bad value \"", value, "\" for ", arg));
  }
  return std::nullopt;
}

}  // namespace trenode::bench
