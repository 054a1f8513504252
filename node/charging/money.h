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

// a * b / c rounded half up (all non-negative, c > 0), through 128 bits so
// that no product overflows; saturates at INT64_MAX.
int64_t MulDivRound(int64_t a, int64_t b, int64_t c);
// a * b * c / d likewise.
int64_t MulMulDivRound(int64_t a, int64_t b, int64_t c, __int128 d);

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_MONEY_H_
