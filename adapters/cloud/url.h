// The pieces of a URL the cloud adapters build and sign.
#ifndef TRENODE_ADAPTERS_CLOUD_URL_H_
#define TRENODE_ADAPTERS_CLOUD_URL_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::adapters::cloud {

// RFC 3986 percent-encoding of everything but the unreserved characters
// (A-Z a-z 0-9 - . _ ~); with `keep_slashes`, '/' is left as it is too.
std::string PercentEncode(absl::string_view text, bool keep_slashes);
// Undoes percent-encoding ('+' stays '+'); InvalidArgument on a bad escape.
absl::StatusOr<std::string> PercentDecode(absl::string_view text);

struct UrlParts {
  std::string scheme;     // "https"
  std::string authority;  // "host[:port]"
  std::string path;       // as written (still encoded), "/" if empty
  // name=value pairs in order, still encoded; a bare name has an empty value.
  std::vector<std::pair<std::string, std::string>> query;
};

// InvalidArgument if `url` is not absolute (scheme://authority...).
absl::StatusOr<UrlParts> SplitUrl(absl::string_view url);

// True for an https:// URL, or a plain http:// one to this host (127.0.0.1,
// [::1], localhost or *.localhost): nothing sensitive crosses a network in
// clear.
bool IsHttpsOrLocalHttp(absl::string_view url);

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_URL_H_
