#include "node/charging/money.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace trenode::charging {
namespace {

constexpr int64_t kMaxUnits = 1'000'000'000'000;  // 10^12

int64_t Saturate(__int128 value) {
  if (value > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(value);
}

}  // namespace

absl::StatusOr<int64_t> ParseMoney(absl::string_view text, absl::string_view what) {
  if (text.empty()) return 0;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", text, "\" is not an amount (", why,
                     "); write digits with at most 6 decimals, e.g. \"0.045\""));
  };
  int64_t units = 0, fraction = 0;
  int decimals = -1;  // -1: before the point
  for (char c : text) {
    if (c == '.') {
      if (decimals >= 0) return bad("two points");
      decimals = 0;
      continue;
    }
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return bad("not a digit");
    if (decimals < 0) {
      units = units * 10 + (c - '0');
      if (units > kMaxUnits) return bad("more than 10^12");
    } else {
      if (++decimals > 6) return bad("more than 6 decimals");
      fraction = fraction * 10 + (c - '0');
    }
  }
  if (decimals == 0 || text.front() == '.') return bad("no digits on one side of the point");
  for (int d = std::max(decimals, 0); d < 6; ++d) fraction *= 10;
  return units * kMicrosPerUnit + fraction;
}

std::string FormatMoney(int64_t micros) {
  std::string sign = micros < 0 ? "-" : "";
  uint64_t magnitude = micros < 0 ? 0 - static_cast<uint64_t>(micros) : micros;
  std::string fraction = absl::StrCat(magnitude % kMicrosPerUnit + kMicrosPerUnit).substr(1);
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  return absl::StrCat(sign, magnitude / kMicrosPerUnit, ".", fraction);
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  return Saturate(static_cast<__int128>(std::max<int64_t>(a, 0)) + std::max<int64_t>(b, 0));
}

int64_t SaturatingMul(int64_t a, int64_t b) {
  return Saturate(static_cast<__int128>(std::max<int64_t>(a, 0)) * std::max<int64_t>(b, 0));
}

int64_t MulDivRound(int64_t a, int64_t b, int64_t c) {
  return MulMulDivRound(a, b, 1, c);
}

int64_t MulMulDivRound(int64_t a, int64_t b, int64_t c, __int128 d) {
  if (a <= 0 || b <= 0 || c <= 0 || d <= 0) return 0;
  __int128 product = static_cast<__int128>(a) * b;
  // a*b*c may pass 2^127 only for absurd inputs: divide first then.
  if (product > (static_cast<__int128>(1) << 100) / c) {
    __int128 quotient = product / d;
    if (quotient > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
    return Saturate(quotient * c);  // both below 2^63: the product fits
  }
  product *= c;
  return Saturate((product + d / 2) / d);
}

}  // namespace trenode::charging
