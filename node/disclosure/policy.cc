#include "node/disclosure/policy.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace trenode::disclosure {

int64_t SmallGroup(const Policy& policy) {
  return std::max({int64_t{1}, policy.threshold, policy.min_nonzero,
                   policy.redact_at_or_below + 1, policy.overlap_threshold});
}

absl::StatusOr<Policy> Preset(absl::string_view name) {
  Policy policy;
  policy.preset = std::string(name);
  if (name == "acro" || name == "cell_key") {
    policy.threshold = 10;
    policy.zeros_disclosive = true;
    policy.nk_n = 2;
    policy.nk_k_percent = 90;
    policy.p_percent = 10;
    policy.min_dof = 10;
    policy.overlap_threshold = 10;
    // cell_key: counts are perturbed instead of suppressed; magnitudes and
    // regressions keep acro's rules.
    policy.cell_key = name == "cell_key";
    return policy;
  }
  if (name == "opensafely") {
    policy.redact_at_or_below = 7;
    policy.rounding_base = 5;
    policy.overlap_threshold = 8;
    return policy;
  }
  if (name == "datashield") {
    policy.min_nonzero = 3;
    policy.overlap_threshold = 3;
    return policy;
  }
  return absl::NotFoundError(absl::StrCat(
      "no disclosure policy \"", name, "\"; presets are acro, cell_key, opensafely, datashield"));
}

absl::Status Override(Policy& policy, absl::string_view name, absl::string_view value) {
  if (name == "zeros_disclosive" || name == "cell_key") {
    if (value != "true" && value != "false") {
      return absl::InvalidArgumentError(absl::StrCat(name, ": true or false"));
    }
    (name == "cell_key" ? policy.cell_key : policy.zeros_disclosive) = value == "true";
    return absl::OkStatus();
  }
  int64_t* field = name == "threshold"            ? &policy.threshold
                   : name == "min_nonzero"        ? &policy.min_nonzero
                   : name == "redact_at_or_below" ? &policy.redact_at_or_below
                   : name == "rounding_base"      ? &policy.rounding_base
                   : name == "nk_n"               ? &policy.nk_n
                   : name == "nk_k_percent"       ? &policy.nk_k_percent
                   : name == "p_percent"          ? &policy.p_percent
                   : name == "min_dof"            ? &policy.min_dof
                   : name == "overlap_threshold"  ? &policy.overlap_threshold
                                                  : nullptr;
  if (field == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("no policy parameter \"", name, "\""));
  }
  int64_t parsed;
  int64_t lowest = name == "redact_at_or_below" ? -1 : 0;
  int64_t highest = (name == "nk_k_percent" || name == "p_percent") ? 100 : int64_t{1} << 40;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < lowest || parsed > highest) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": \"", value, "\" is not a whole number from ", lowest, " to ", highest));
  }
  *field = parsed;
  return absl::OkStatus();
}

absl::StatusOr<Policy> PolicyFrom(absl::string_view preset,
                                  const std::vector<std::string>& overrides,
                                  absl::string_view field) {
  absl::StatusOr<Policy> policy = Preset(preset);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", policy.status().message()));
  }
  for (const std::string& setting : overrides) {
    size_t equals = setting.find('=');
    absl::Status set =
        equals == std::string::npos
            ? absl::InvalidArgumentError(absl::StrCat("\"", setting, "\" is not name=value"))
            : Override(*policy, setting.substr(0, equals), setting.substr(equals + 1));
    if (!set.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": ", set.message()));
  }
  return policy;
}

std::string Describe(absl::string_view preset, const std::vector<std::string>& overrides) {
  if (overrides.empty()) return std::string(preset);
  return absl::StrCat(preset, " (", absl::StrJoin(overrides, ", "), ")");
}

}  // namespace trenode::disclosure
