#include "node/auth/jwks_provider.h"

#include <curl/curl.h>


#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/common/files.h"
#include "node/common/status_macros.h"

namespace trenode::auth {
namespace {

constexpr long kTimeoutSeconds = 10;
constexpr size_t kMaxJwksBytes = 1 << 20;

size_t Collect(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * count > kMaxJwksBytes) return 0;  // aborts the transfer
  body->append(data, size * count);
  return size * count;
}

bool IsLoopbackHttp(const std::string& uri) {
  return absl::StartsWith(uri, "http://127.") || absl::StartsWith(uri, "http://localhost:") ||
         absl::StartsWith(uri, "http://localhost/") || absl::StartsWith(uri, "http://[::1]");
}

absl::StatusOr<std::string> HttpsGet(const std::string& uri, const std::string& ca_file) {
  if (!absl::StartsWith(uri, "https://") && !IsLoopbackHttp(uri)) {
    return absl::FailedPreconditionError(
        absl::StrCat("jwks_uri ", uri, " must use https (http only for loopback)"));
  }
  static const bool initialized = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!initialized) return absl::InternalError("libcurl failed to initialize");
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("libcurl failed to start a transfer");
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, uri.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, kTimeoutSeconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot fetch the issuer's keys from ", uri, ": ", curl_easy_strerror(rc)));
  }
  if (status != 200) {
    return absl::UnavailableError(
        absl::StrCat("cannot fetch the issuer's keys from ", uri, ": HTTP ", status));
  }
  return body;
}

absl::StatusOr<std::string> ReadKeySet(const std::string& path) {
  std::optional<std::string> text = ReadWholeFile(path);
  if (!text) return absl::UnavailableError(absl::StrCat("cannot read the key set ", path));
  return *text;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const JwkSet>> CachingJwksProvider::Keys(bool refresh) {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_();
  bool wanted = keys_ == nullptr || refresh;
  bool allowed = now - last_fetch_ >= min_refresh_interval_;
  if (wanted && allowed) {
    last_fetch_ = now;
    ++fetches_;
    // A failed fetch keeps the keys we had.
    absl::StatusOr<std::string> json = fetch_();
    absl::Status status = json.status();
    if (json.ok()) {
      absl::StatusOr<std::shared_ptr<const JwkSet>> parsed = JwkSet::Parse(*json);
      if (parsed.ok()) keys_ = *parsed;
      status = parsed.status();
    }
    if (keys_ == nullptr) return absl::UnavailableError(status.message());
  }
  if (keys_ == nullptr) {
    return absl::UnavailableError("the issuer's keys are not available yet; retry shortly");
  }
  return keys_;
}

int CachingJwksProvider::fetches() const {
  absl::MutexLock lock(&mu_);
  return fetches_;
}

std::unique_ptr<JwksProvider> FileJwksProvider(std::string path, absl::Duration min_refresh) {
  return std::make_unique<CachingJwksProvider>([path] { return ReadKeySet(path); }, min_refresh);
}

std::unique_ptr<JwksProvider> HttpsJwksProvider(std::string uri, std::string ca_file,
                                                absl::Duration min_refresh) {
  return std::make_unique<CachingJwksProvider>([uri, ca_file] { return HttpsGet(uri, ca_file); },
                                               min_refresh);
}

}  // namespace trenode::auth
