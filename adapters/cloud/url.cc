#include "adapters/cloud/url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace trenode::adapters::cloud {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentEncode(absl::string_view text, bool keep_slashes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~' || (keep_slashes && c == '/')) {
      out.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

absl::StatusOr<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || HexValue(text[i + 1]) < 0 || HexValue(text[i + 2]) < 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad percent-escape in \"", text, "\""));
    }
    out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
    i += 2;
  }
  return out;
}

absl::StatusOr<UrlParts> SplitUrl(absl::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos || scheme_end == 0) {
    return absl::InvalidArgumentError(absl::StrCat("not an absolute URL: ", url));
  }
  UrlParts parts;
  parts.scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  absl::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  size_t path_start = rest.find_first_of("/?");
  parts.authority = std::string(rest.substr(0, path_start));
  if (parts.authority.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in ", url));
  absl::string_view target =
      path_start == absl::string_view::npos ? absl::string_view() : rest.substr(path_start);
  size_t query_start = target.find('?');
  parts.path = std::string(target.substr(0, query_start));
  if (parts.path.empty()) parts.path.push_back('/');
  if (query_start != absl::string_view::npos) {
    for (absl::string_view pair :
         absl::StrSplit(target.substr(query_start + 1), '&', absl::SkipEmpty())) {
      std::pair<std::string, std::string> name_value = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      parts.query.push_back(std::move(name_value));
    }
  }
  return parts;
}

bool IsHttpsOrLocalHttp(absl::string_view url) {
  if (absl::StartsWith(url, "https://")) return true;
  absl::string_view host = url;
  if (!absl::ConsumePrefix(&host, "http://")) return false;
  host = host.substr(0, host.find('/'));
  if (!absl::StartsWith(host, "[")) host = host.substr(0, host.find(':'));
  return host == "127.0.0.1" || host == "localhost" || absl::StartsWith(host, "[::1]") ||
         absl::EndsWith(host, ".localhost");
}

}  // namespace trenode::adapters::cloud
