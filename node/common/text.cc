#include "node/common/text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trenode {
namespace {

// The length of the valid UTF-8 sequence starting at text[i], or 0.
size_t Utf8Length(absl::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length;
  uint32_t min;
  uint32_t code;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, min = 0x80, code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, min = 0x800, code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, min = 0x10000, code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

}  // namespace

size_t FirstInvalidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t length = Utf8Length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return absl::string_view::npos;
}

std::string ValidUtf8(absl::string_view text) {
  if (FirstInvalidUtf8(text) == absl::string_view::npos) return std::string(text);
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t length = Utf8Length(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.data() + i, length);
      i += length;
    }
  }
  return out;
}

std::string PrintableText(absl::string_view text, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    std::string piece;
    size_t length = Utf8Length(text, i);
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (length == 0) {
      piece = absl::StrFormat("\\x%02x", c);
      length = 1;
    } else if (length == 1) {
      switch (c) {
        case '\n':
          piece = "\\n";
          break;
        case '\r':
          piece = "\\r";
          break;
        case '\t':
          piece = "\\t";
          break;
        case '\\':
          piece = "\\\\";
          break;
        default:
          piece = (c < 0x20 || c == 0x7F) ? absl::StrFormat("\\x%02x", c) : std::string(1, c);
      }
    } else if (length == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      piece = absl::StrFormat("\\u%04x", static_cast<unsigned char>(text[i + 1]));  // C1 control
    } else {
      piece = std::string(text.substr(i, length));
    }
    if (out.size() + piece.size() > max_bytes) {
      absl::StrAppend(&out, "… (", text.size() - i, " more bytes)");
      return out;
    }
    out += piece;
    i += length;
  }
  return out;
}

}  // namespace trenode
