// A deterministic generator of synthetic, pseudonymised EHR-like data in an
// OMOP-like shape, built around one question: can undiagnosed heart failure
// be found in routine records? Each seed is one institution: a different
// population with the same structure. Same seed and size, same bytes.
#ifndef TRENODE_NODE_SYNTH_GENERATOR_H_
#define TRENODE_NODE_SYNTH_GENERATOR_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::synth {

struct SynthOptions {
  uint64_t seed = 1;
  int64_t persons = 10000;
};

// Writes person.csv, condition_occurrence.csv, drug_exposure.csv,
// measurement.csv and dataset.textproto (the catalogue metadata) into `dir`,
// creating it. Unavailable if a file cannot be written.
absl::Status GenerateSite(const SynthOptions& options, const std::string& dir);

// The catalogue metadata describing what GenerateSite writes.
trenode::v1::Dataset SiteMetadata(const SynthOptions& options);

}  // namespace trenode::synth

#endif  // TRENODE_NODE_SYNTH_GENERATOR_H_
