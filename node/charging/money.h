// Money as integers: micro-units of the node's currency (1.00 GBP is
// 1,000,000), never floating point (spec/charging.md, "Money"). Pure
// functions; thread-safe.
#ifndef TRENODE_NODE_CHARGING_MONEY_H_
#define TRENODE_NODE_CHARGING_MONEY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::charging {

inline constexpr int64_t kMicrosPerUnit = 1'000'000;

// "12", "0.045", "250.00" -> micro-units, exactly. "" is 0. InvalidArgument
// naming `what` for a sign, more than 6 decimals, anything but digits and
// one point, or more than 10^12 units.
absl::StatusOr<int64_t> ParseMoney(absl::string_view text, absl::string_view what);

// Micro-units as decimal text with at least 2 decimals and no trailing zeros
// past them: 1500000 -> "1.50", 1234 -> "0.001234", -5000000 -> "-5.00".
std::string FormatMoney(int64_t micros);

// The most a price may be, per unit (10^9 units of the currency); prices
// above it are refused when the config is loaded.
inline constexpr int64_t kMaxPriceMicros = int64_t{1'000'000'000} * kMicrosPerUnit;
// The most one cost line may be (2^60 micro-units, about 1.15 x 10^12
// units): a line that would be more is this, so that the sum of a cost's
// few lines is exact and never overflows.
inline constexpr int64_t kMaxLineMicros = int64_t{1} << 60;

// a + b and a * b for non-negative amounts (a negative counts as 0),
// saturating at INT64_MAX: a saturated sum is more than any budget, so it
// is refused, never wrapped round to a negative that passes.
int64_t SaturatingAdd(int64_t a, int64_t b);
int64_t SaturatingMul(int64_t a, int64_t b);

// a * b / c rounded half up (all non-negative, c > 0), through 128 bits so
// that no product overflows; saturates at INT64_MAX.
int64_t MulDivRound(int64_t a, int64_t b, int64_t c);
// a * b * c / d likewise.
int64_t MulMulDivRound(int64_t a, int64_t b, int64_t c, __int128 d);

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_MONEY_H_
