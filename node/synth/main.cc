// trenode-synth: writes one synthetic site's EHR-like CSV tables.
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "node/synth/generator.h"

namespace {
constexpr char kUsage[] =
    "usage: trenode-synth --seed N --persons M --out DIR\n"
    "\n"
    "Writes deterministic synthetic, pseudonymised EHR-like data for one site into DIR:\n"
    "person.csv, condition_occurrence.csv (ICD-10), drug_exposure.csv (BNF),\n"
    "measurement.csv (SNOMED CT, including echocardiogram LVEF) and dataset.textproto\n"
    "(catalogue metadata for `trectl dataset import`). Each seed is a different site;\n"
    "the same seed and size always give the same bytes.\n";
}  // namespace

int main(int argc, char** argv) {
  trenode::synth::SynthOptions options;
  std::string out;
  bool have_seed = false, have_persons = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg != "--seed" && arg != "--persons" && arg != "--out") {
      std::cerr << "trenode-synth: unknown flag " << arg << "\n" << kUsage;
      return 2;
    }
    if (i + 1 == argc) {
      std::cerr << "trenode-synth: " << arg << " needs a value\n" << kUsage;
      return 2;
    }
    std::string value = argv[++i];
    if (arg == "--seed" && absl::SimpleAtoi(value, &options.seed)) {
      have_seed = true;
    } else if (arg == "--persons" && absl::SimpleAtoi(value, &options.persons) &&
               options.persons > 0) {
      have_persons = true;
    } else if (arg == "--out") {
      out = value;
    } else {
      std::cerr << "trenode-synth: bad value \"" << value << "\" for " << arg << "\n" << kUsage;
      return 2;
    }
  }
  if (!have_seed || !have_persons || out.empty()) {
    std::cerr << "trenode-synth: --seed, --persons and --out are required\n" << kUsage;
    return 2;
  }
  if (absl::Status s = trenode::synth::GenerateSite(options, out); !s.ok()) {
    std::cerr << "trenode-synth: " << s.message() << "\n";
    return 1;
  }
  std::cout << "trenode-synth: wrote " << options.persons << " persons (seed " << options.seed
            << ") to " << out << "\n";
  return 0;
}
