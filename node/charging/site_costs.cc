#include "node/charging/site_costs.h"

#include "absl/strings/ascii.h"
#include "node/charging/money.h"

namespace trenode::charging {

std::optional<trenode::v1::Cost> ReportedCost(const trenode::v1::Cost& reported) {
  if (reported.currency().size() != 3) return std::nullopt;
  for (char c : reported.currency()) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c))) return std::nullopt;
  }
  if (reported.total_micros() < 0 || reported.total_micros() > kMaxLineMicros) return std::nullopt;
  trenode::v1::Cost kept;
  kept.set_currency(reported.currency());
  kept.set_total_micros(reported.total_micros());
  return kept;
}

}  // namespace trenode::charging
