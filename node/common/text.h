// Text that the node stores, logs or shows but did not write itself (a job's
// failure, an error from a library, a token's header): made printable and
// bounded before it goes anywhere a person or a line-oriented tool reads it.
#ifndef TRENODE_NODE_COMMON_TEXT_H_
#define TRENODE_NODE_COMMON_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace trenode {

// `text` as one printable line of valid UTF-8: control characters (C0, DEL
// and C1), backslashes and bytes that are not valid UTF-8 become escapes
// ("\n", "\t", "\\", "\xNN", "\u0085"); kept whole up to `max_bytes` of
// output, otherwise cut at a character boundary and ended with "… (N more
// bytes)".
std::string PrintableText(absl::string_view text, size_t max_bytes);

// The offset of the first byte of `text` that is not part of valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF are invalid), or
// npos if all of it is valid.
size_t FirstInvalidUtf8(absl::string_view text);

// `text` with every byte that is not valid UTF-8 replaced by U+FFFD, so it
// can be kept in a protobuf string field; valid text is unchanged.
std::string ValidUtf8(absl::string_view text);

}  // namespace trenode

#endif  // TRENODE_NODE_COMMON_TEXT_H_
