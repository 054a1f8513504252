// An independent UTF-8 check for harness invariants, written from RFC 3629's
// table of well-formed byte sequences rather than shared with the code under
// test, so that the two can disagree.
#ifndef TRENODE_TESTS_FUZZ_UTF8_H_
#define TRENODE_TESTS_FUZZ_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace trenode::fuzz {

inline bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  auto byte = [&](size_t at) { return static_cast<uint8_t>(text[at]); };
  auto in = [&](size_t at, uint8_t low, uint8_t high) {
    return at < text.size() && byte(at) >= low && byte(at) <= high;
  };
  while (i < text.size()) {
    uint8_t b = byte(i);
    size_t length = 0;
    if (b <= 0x7F) {
      length = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      length = in(i + 1, 0x80, 0xBF) ? 2 : 0;
    } else if (b == 0xE0) {
      length = in(i + 1, 0xA0, 0xBF) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      length = in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    } else if (b == 0xED) {
      length = in(i + 1, 0x80, 0x9F) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    } else if (b == 0xF0) {
      length = in(i + 1, 0x90, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    } else if (b >= 0xF1 && b <= 0xF3) {
      length = in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    } else if (b == 0xF4) {
      length = in(i + 1, 0x80, 0x8F) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    }
    if (length == 0) return false;
    i += length;
  }
  return true;
}

}  // namespace trenode::fuzz

#endif  // TRENODE_TESTS_FUZZ_UTF8_H_
