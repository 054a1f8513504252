#include "node/catalogue/page_token.h"

#include <bit>
#include <cstdint>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace trenode::catalogue {
namespace {
constexpr char kSeparator = '\x1f';

absl::Status BadToken(absl::string_view kind) {
  return absl::InvalidArgumentError(absl::StrCat(
      "page_token is not one this node issued for this ", kind,
      " request; repeat the request with the same parameters, or start without a token"));
}

std::string Wrap(const std::vector<std::string>& fields) {
  return absl::WebSafeBase64Escape(absl::StrJoin(fields, std::string(1, kSeparator)));
}

std::vector<std::string> Unwrap(const std::string& token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return {};
  return absl::StrSplit(raw, kSeparator);
}
}  // namespace

std::string EncodeListToken(bool include_retired, const std::string& last_id) {
  return Wrap({"list1", include_retired ? "r" : "a", last_id});
}

absl::StatusOr<std::string> DecodeListToken(const std::string& token, bool include_retired) {
  std::vector<std::string> fields = Unwrap(token);
  if (fields.size() != 3 || fields[0] != "list1" || fields[1] != (include_retired ? "r" : "a")) {
    return BadToken("ListDatasets");
  }
  return fields[2];
}

std::string EncodeSearchToken(const std::string& fingerprint, const SearchCursor& last) {
  return Wrap({"search1", fingerprint, absl::StrCat(absl::Hex(std::bit_cast<uint64_t>(last.score))),
               last.dataset_id});
}

absl::StatusOr<SearchCursor> DecodeSearchToken(const std::string& token,
                                               const std::string& fingerprint) {
  std::vector<std::string> fields = Unwrap(token);
  uint64_t bits;
  if (fields.size() != 4 || fields[0] != "search1" || fields[1] != fingerprint ||
      !absl::SimpleHexAtoi(fields[2], &bits)) {
    return BadToken("SearchDatasets");
  }
  return SearchCursor{std::bit_cast<double>(bits), fields[3]};
}

}  // namespace trenode::catalogue
