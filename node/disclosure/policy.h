// Disclosure-control policies (spec/disclosure.md): the rules' parameters,
// as presets a node or project names and may override.
#ifndef TRENODE_NODE_DISCLOSURE_POLICY_H_
#define TRENODE_NODE_DISCLOSURE_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::disclosure {

struct Policy {
  std::string preset;
  // Threshold: a cell with fewer than `threshold` contributors fails (0: off).
  int64_t threshold = 0;
  // Zeros: a cell of zero contributors fails (class disclosure).
  bool zeros_disclosive = false;
  // Minimum non-zero cell: 0 < contributors < min_nonzero fails (0: off).
  int64_t min_nonzero = 0;
  // Redaction: a count <= redact_at_or_below is redacted (-1: off).
  int64_t redact_at_or_below = -1;
  // Rounding of released counts to a multiple of this (0: off).
  int64_t rounding_base = 0;
  // (n,k) dominance: the n largest contributions reaching k% of the cell
  // total fail (nk_n 0: off).
  int64_t nk_n = 0;
  int64_t nk_k_percent = 0;
  // p%: the total less the two largest contributions below p% of the largest
  // fails (p_percent 0: off).
  int64_t p_percent = 0;
  // Regressions: fewer residual degrees of freedom fail (0: off).
  int64_t min_dof = 0;
  // The overlap audit: a new cell whose persons differ from a released
  // cell's by more than 0 and fewer than this goes to a checker (0: off).
  int64_t overlap_threshold = 0;
  // Cell-key perturbation of counts instead of suppression (spec/disclosure.md).
  bool cell_key = false;
};

// The size below which a group of persons is small for the policy: the
// largest of threshold, min_nonzero, redact_at_or_below + 1 and
// overlap_threshold (at least 1). Rules that protect groups rather than
// published cells (linked tables, regressions, summaries of few values) use
// it, so no preset switches them off.
int64_t SmallGroup(const Policy& policy);

// "acro", "cell_key", "opensafely" or "datashield". NotFound for any other name.
absl::StatusOr<Policy> Preset(absl::string_view name);

// Sets one parameter by name ("threshold", "zeros_disclosive", "min_nonzero",
// "redact_at_or_below", "rounding_base", "nk_n", "nk_k_percent",
// "p_percent", "min_dof", "overlap_threshold", "cell_key"). InvalidArgument for an unknown name or a value
// out of range.
absl::Status Override(Policy& policy, absl::string_view name, absl::string_view value);

// A preset with overrides "name=value" applied in order; `field` names where
// they came from in errors.
absl::StatusOr<Policy> PolicyFrom(absl::string_view preset,
                                  const std::vector<std::string>& overrides,
                                  absl::string_view field);

// "acro" or "acro (threshold=5, p_percent=15)".
std::string Describe(absl::string_view preset, const std::vector<std::string>& overrides);

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_POLICY_H_
