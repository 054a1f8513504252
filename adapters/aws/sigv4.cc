#include "adapters/aws/sigv4.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "adapters/cloud/digest.h"
#include "adapters/cloud/url.h"

namespace trenode::adapters::aws {
namespace {

using cloud::Hex;
using cloud::HmacSha256;
using cloud::HttpHeader;
using cloud::HttpRequest;

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";

struct ParsedUrl {
  std::string authority;  // host[:port], without a default port
  std::string path;       // as sent, "/" if empty
  std::string query;      // as sent, without '?'
};

absl::StatusOr<ParsedUrl> ParseUrl(absl::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("not an absolute URL: ", url));
  }
  absl::string_view scheme = url.substr(0, scheme_end);
  absl::string_view rest = url.substr(scheme_end + 3);
  if (size_t fragment = rest.find('#'); fragment != absl::string_view::npos) {
    rest = rest.substr(0, fragment);
  }
  size_t path_start = rest.find_first_of("/?");
  ParsedUrl parsed;
  parsed.authority = std::string(rest.substr(0, path_start));
  if (parsed.authority.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in ", url));
  if ((scheme == "https" && absl::EndsWith(parsed.authority, ":443")) ||
      (scheme == "http" && absl::EndsWith(parsed.authority, ":80"))) {
    parsed.authority.resize(parsed.authority.rfind(':'));
  }
  absl::string_view target =
      path_start == absl::string_view::npos ? absl::string_view() : rest.substr(path_start);
  size_t query_start = target.find('?');
  parsed.path = std::string(target.substr(0, query_start));
  if (query_start != absl::string_view::npos) parsed.query = std::string(target.substr(query_start + 1));
  if (parsed.path.empty()) parsed.path = "/";
  return parsed;
}

// Percent-decoded `text`; a malformed escape is signed as it was sent.
std::string Decoded(absl::string_view text) {
  return cloud::PercentDecode(text).value_or(std::string(text));
}

// "." and empty segments dropped, ".." taken back; a trailing '/' kept.
std::string NormalizePath(absl::string_view path) {
  std::vector<absl::string_view> kept;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(segment);
  }
  std::string out = absl::StrCat("/", absl::StrJoin(kept, "/"));
  if (!kept.empty() && absl::EndsWith(path, "/")) out.push_back('/');
  return out;
}

std::string CanonicalQuery(absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (absl::string_view param : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(param, absl::MaxSplits('=', 1));
    params.emplace_back(cloud::PercentEncode(Decoded(kv.first), false),
                        cloud::PercentEncode(Decoded(kv.second), false));
  }
  std::sort(params.begin(), params.end());
  std::vector<std::string> joined;
  for (const auto& [key, value] : params) joined.push_back(absl::StrCat(key, "=", value));
  return absl::StrJoin(joined, "&");
}

// Trimmed, with each run of spaces as one.
std::string CanonicalHeaderValue(absl::string_view value) {
  std::string out;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(value)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

void SetHeader(HttpRequest& request, absl::string_view name, std::string value) {
  for (HttpHeader& header : request.headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) {
      header.value = std::move(value);
      return;
    }
  }
  request.headers.push_back({std::string(name), std::move(value)});
}

std::string Scope(const SigV4Scope& scope, absl::Time now) {
  return absl::StrCat(absl::FormatTime("%Y%m%d", now, absl::UTCTimeZone()), "/", scope.region,
                      "/", scope.service, "/aws4_request");
}

std::string Signature(const AwsCredentials& credentials, const SigV4Scope& scope,
                      absl::Time now, absl::string_view string_to_sign) {
  std::string key = HmacSha256(absl::StrCat("AWS4", credentials.secret_access_key),
                               absl::FormatTime("%Y%m%d", now, absl::UTCTimeZone()));
  key = HmacSha256(key, scope.region);
  key = HmacSha256(key, scope.service);
  key = HmacSha256(key, "aws4_request");
  return Hex(HmacSha256(key, string_to_sign));
}

std::string StringToSign(absl::Time now, const SigV4Scope& scope,
                         absl::string_view canonical_request) {
  return absl::StrCat(kAlgorithm, "\n", AmzDate(now), "\n", Scope(scope, now), "\n",
                      Hex(cloud::Sha256(canonical_request)));
}

std::string CanonicalUri(const ParsedUrl& url, const SigV4Rules& rules) {
  if (rules.s3_paths) return cloud::PercentEncode(Decoded(url.path), true);
  return cloud::PercentEncode(NormalizePath(url.path), true);
}

}  // namespace

std::string AmzDate(absl::Time time) {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", time, absl::UTCTimeZone());
}

absl::StatusOr<SigV4Parts> SignRequest(HttpRequest& request, const AwsCredentials& credentials,
                                       const SigV4Scope& scope, absl::Time now,
                                       const SigV4Rules& rules) {
  absl::StatusOr<ParsedUrl> url = ParseUrl(request.url);
  if (!url.ok()) return url.status();
  if (!request.Header("host")) request.headers.push_back({"Host", url->authority});
  SetHeader(request, "X-Amz-Date", AmzDate(now));
  request.headers.erase(std::remove_if(request.headers.begin(), request.headers.end(),
                                       [](const HttpHeader& header) {
                                         return absl::EqualsIgnoreCase(header.name,
                                                                       "authorization") ||
                                                absl::EqualsIgnoreCase(
                                                    header.name, "x-amz-security-token");
                                       }),
                        request.headers.end());
  bool token = !credentials.session_token.empty();
  if (token && rules.sign_session_token) {
    request.headers.push_back({"X-Amz-Security-Token", credentials.session_token});
  }

  std::map<std::string, std::vector<std::string>> headers;  // sorted by name
  for (const HttpHeader& header : request.headers) {
    headers[absl::AsciiStrToLower(header.name)].push_back(CanonicalHeaderValue(header.value));
  }
  std::string canonical_headers;
  std::vector<std::string> names;
  for (const auto& [name, values] : headers) {
    absl::StrAppend(&canonical_headers, name, ":", absl::StrJoin(values, ","), "\n");
    names.push_back(name);
  }
  SigV4Parts parts;
  parts.signed_headers = absl::StrJoin(names, ";");
  std::string payload_hash = request.Header("x-amz-content-sha256").value_or(
      Hex(cloud::Sha256(request.body)));
  parts.canonical_request =
      absl::StrCat(request.method, "\n", CanonicalUri(*url, rules), "\n",
                   CanonicalQuery(url->query), "\n", canonical_headers, "\n",
                   parts.signed_headers, "\n", payload_hash);
  parts.string_to_sign = StringToSign(now, scope, parts.canonical_request);
  parts.signature = Signature(credentials, scope, now, parts.string_to_sign);
  request.headers.push_back(
      {"Authorization",
       absl::StrCat(kAlgorithm, " Credential=", credentials.access_key_id, "/", Scope(scope, now),
                    ", SignedHeaders=", parts.signed_headers, ", Signature=", parts.signature)});
  if (token && !rules.sign_session_token) {
    request.headers.push_back({"X-Amz-Security-Token", credentials.session_token});
  }
  return parts;
}

absl::StatusOr<std::string> PresignUrl(const std::string& method, const std::string& url,
                                       const AwsCredentials& credentials,
                                       const SigV4Scope& scope, absl::Time now,
                                       absl::Duration expires_in) {
  if (expires_in < absl::Seconds(1) || expires_in > absl::Hours(24 * 7)) {
    return absl::InvalidArgumentError("a presigned URL lasts from 1 second to 7 days");
  }
  absl::StatusOr<ParsedUrl> parsed = ParseUrl(url);
  if (!parsed.ok()) return parsed.status();
  std::string query = parsed->query;
  auto add = [&query](absl::string_view name, absl::string_view value) {
    absl::StrAppend(&query, query.empty() ? "" : "&", name, "=", cloud::PercentEncode(value, false));
  };
  add("X-Amz-Algorithm", kAlgorithm);
  add("X-Amz-Credential", absl::StrCat(credentials.access_key_id, "/", Scope(scope, now)));
  add("X-Amz-Date", AmzDate(now));
  add("X-Amz-Expires", absl::StrCat(absl::ToInt64Seconds(expires_in)));
  if (!credentials.session_token.empty()) add("X-Amz-Security-Token", credentials.session_token);
  add("X-Amz-SignedHeaders", "host");
  SigV4Rules rules{.s3_paths = scope.service == "s3"};
  std::string canonical_request =
      absl::StrCat(method, "\n", CanonicalUri(*parsed, rules), "\n", CanonicalQuery(query),
                   "\nhost:", parsed->authority, "\n\nhost\n", kUnsignedPayload);
  std::string signature =
      Signature(credentials, scope, now, StringToSign(now, scope, canonical_request));
  size_t query_start = url.find('?');
  return absl::StrCat(url.substr(0, query_start), "?", query, "&X-Amz-Signature=", signature);
}

}  // namespace trenode::adapters::aws
