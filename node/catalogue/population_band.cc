#include "node/catalogue/population_band.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trenode::catalogue {
namespace {
constexpr int64_t kTopBand = 10'000'000;

std::string Grouped(int64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
}  // namespace

trenode::v1::PopulationBand PopulationBandFor(int64_t count) {
  trenode::v1::PopulationBand band;
  if (count >= kTopBand) {
    band.set_lower(kTopBand);
    band.set_upper(0);
    band.set_label(absl::StrCat(Grouped(kTopBand), " or more"));
    return band;
  }
  int64_t lower = 0;
  int64_t upper = 100;
  while (count >= upper) {
    lower = upper;
    upper *= 10;
  }
  band.set_lower(lower);
  band.set_upper(upper);
  band.set_label(lower == 0 ? "fewer than 100"
                            : absl::StrCat(Grouped(lower), " to ", Grouped(upper - 1)));
  return band;
}

}  // namespace trenode::catalogue
