#include "adapters/azure/shared_key.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/cloud/digest.h"
#include "adapters/cloud/url.h"
#include "node/common/status_macros.h"

namespace trenode::adapters::azure {
namespace {

using cloud::HttpHeader;
using cloud::HttpRequest;

// The standard headers the string to sign names, in its order.
constexpr const char* kSignedStandardHeaders[] = {
    "content-encoding", "content-language", "content-length",    "content-md5",
    "content-type",     "date",             "if-modified-since", "if-match",
    "if-none-match",    "if-unmodified-since", "range"};

// What differs between Storage's and Batch's Shared Key schemes.
struct Scheme {
  absl::string_view header_prefix;  // the headers signed by name: "x-ms-" or "ocp-"
  // Storage (2015-02-21 on) signs a zero Content-Length as ""; Batch signs
  // the header as sent, and curl sends "Content-Length: 0" on every request
  // with a body slot (all but GET and HEAD).
  bool zero_length_is_empty;
};
constexpr Scheme kStorage{"x-ms-", true};
constexpr Scheme kBatch{"ocp-", false};

std::string HeaderValue(const HttpRequest& request, absl::string_view name, const Scheme& scheme) {
  if (name == "content-length") {
    if (!request.body.empty()) return absl::StrCat(request.body.size());
    bool sent = request.method != "GET" && request.method != "HEAD";
    return scheme.zero_length_is_empty || !sent ? "" : "0";
  }
  return request.Header(name).value_or("");
}

// Each header named with the scheme's prefix as "name:value\n", names
// lower-cased and sorted, runs of whitespace in values folded to one space.
std::string CanonicalizedHeaders(const HttpRequest& request, const Scheme& scheme) {
  std::map<std::string, std::string> headers;
  for (const HttpHeader& header : request.headers) {
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header.name));
    if (!absl::StartsWith(name, scheme.header_prefix)) continue;
    std::string value;
    bool in_space = false;
    for (char c : absl::StripAsciiWhitespace(header.value)) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
        in_space = true;
        continue;
      }
      if (in_space) value.push_back(' ');
      in_space = false;
      value.push_back(c);
    }
    auto [it, inserted] = headers.emplace(name, value);
    if (!inserted) absl::StrAppend(&it->second, ",", value);
  }
  std::string out;
  for (const auto& [name, value] : headers) absl::StrAppend(&out, name, ":", value, "\n");
  return out;
}

// "/account/path" then "\nname:value1,value2" for each query parameter, names
// lower-cased and sorted, values decoded.
absl::StatusOr<std::string> CanonicalizedResource(const HttpRequest& request,
                                                  absl::string_view account) {
  ASSIGN_OR_RETURN(cloud::UrlParts url, cloud::SplitUrl(request.url));
  std::string out = absl::StrCat("/", account, url.path);
  std::map<std::string, std::vector<std::string>> parameters;
  for (const auto& [name, value] : url.query) {
    ASSIGN_OR_RETURN(std::string decoded_name, cloud::PercentDecode(name));
    ASSIGN_OR_RETURN(std::string decoded_value, cloud::PercentDecode(value));
    parameters[absl::AsciiStrToLower(decoded_name)].push_back(std::move(decoded_value));
  }
  for (auto& [name, values] : parameters) {
    std::sort(values.begin(), values.end());
    absl::StrAppend(&out, "\n", name, ":", absl::StrJoin(values, ","));
  }
  return out;
}

void SetHeader(HttpRequest& request, absl::string_view name, std::string value) {
  request.headers.erase(std::remove_if(request.headers.begin(), request.headers.end(),
                                       [&](const HttpHeader& header) {
                                         return absl::EqualsIgnoreCase(header.name, name);
                                       }),
                        request.headers.end());
  request.headers.push_back({std::string(name), std::move(value)});
}

// The verb, the standard headers in their order (no Date is set: the date
// is a prefixed header), the prefixed headers, then the resource.
absl::StatusOr<std::string> StringToSign(const HttpRequest& request, absl::string_view account,
                                         const Scheme& scheme) {
  std::vector<std::string> lines = {absl::AsciiStrToUpper(request.method)};
  for (const char* name : kSignedStandardHeaders) {
    lines.push_back(HeaderValue(request, name, scheme));
  }
  ASSIGN_OR_RETURN(std::string resource, CanonicalizedResource(request, account));
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n", CanonicalizedHeaders(request, scheme),
                      resource);
}

absl::Status Authorize(HttpRequest& request, const AzureSharedKey& key, const Scheme& scheme) {
  ASSIGN_OR_RETURN(std::string string_to_sign, StringToSign(request, key.account, scheme));
  std::string signature = absl::Base64Escape(cloud::HmacSha256(key.key, string_to_sign));
  SetHeader(request, "Authorization", absl::StrCat("SharedKey ", key.account, ":", signature));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AzureSharedKey> MakeSharedKey(absl::string_view account,
                                             absl::string_view account_key_base64) {
  if (account.empty()) return absl::InvalidArgumentError("Azure Storage account name is empty");
  std::string key;
  if (account_key_base64.empty() || !absl::Base64Unescape(account_key_base64, &key) ||
      key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the account key of Azure Storage account ", account, " is not base64"));
  }
  return AzureSharedKey{std::string(account), std::move(key)};
}

absl::StatusOr<std::string> SharedKeyStringToSign(const HttpRequest& request,
                                                  absl::string_view account) {
  return StringToSign(request, account, kStorage);
}

absl::Status SignWithSharedKey(HttpRequest& request, const AzureSharedKey& key, absl::Time now) {
  SetHeader(request, "x-ms-date", HttpDate(now));
  if (!request.Header("x-ms-version")) SetHeader(request, "x-ms-version", kAzureStorageVersion);
  return Authorize(request, key, kStorage);
}

absl::StatusOr<std::string> BatchSharedKeyStringToSign(const HttpRequest& request,
                                                       absl::string_view account) {
  return StringToSign(request, account, kBatch);
}

absl::Status SignBatchRequest(HttpRequest& request, const AzureSharedKey& key, absl::Time now) {
  SetHeader(request, "ocp-date", HttpDate(now));
  return Authorize(request, key, kBatch);
}

std::string HttpDate(absl::Time time) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", time, absl::UTCTimeZone());
}

}  // namespace trenode::adapters::azure
