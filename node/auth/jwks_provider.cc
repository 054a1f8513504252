#include "node/auth/jwks_provider.h"

#include <curl/curl.h>


#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
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

bool IsLoopbackHttp(const std::string& uri) {
  CURLU* url = curl_url();
  if (url == nullptr) return false;
  char* scheme = nullptr;
  char* host = nullptr;
  bool loopback = false;
  if (curl_url_set(url, CURLUPART_URL, uri.c_str(), 0) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK && std::string(scheme) == "http") {
    std::string name(host);
    if (name == "localhost" || name == "[::1]") {
      loopback = true;
    } else {
      std::vector<std::string> octets = absl::StrSplit(name, '.');
      loopback = octets.size() == 4 && octets[0] == "127";
      for (const std::string& octet : octets) {
        int value;
        loopback = loopback && !octet.empty() && octet.size() <= 3 &&
                   absl::SimpleAtoi(octet, &value) && value <= 255 &&
                   octet.find_first_not_of("0123456789") == std::string::npos;
      }
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(url);
  return loopback;
}

absl::StatusOr<std::shared_ptr<const JwkSet>> CachingJwksProvider::Keys(bool refresh) {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_();
  bool wanted = keys_ == nullptr || refresh;
  if (wanted && fetching_) {
    // Someone is fetching: wait for their answer (the fetch has a timeout).
    while (fetching_) fetched_.Wait(&mu_);
  } else if (wanted && now - last_fetch_ >= min_refresh_interval_) {
    last_fetch_ = now;
    ++fetches_;
    fetching_ = true;
    absl::StatusOr<std::shared_ptr<const JwkSet>> parsed;
    {
      // The network, without the lock: verifications with cached keys go on.
      mu_.Unlock();
      absl::StatusOr<std::string> json = fetch_();
      parsed = json.ok() ? JwkSet::Parse(*json)
                         : absl::StatusOr<std::shared_ptr<const JwkSet>>(json.status());
      mu_.Lock();
    }
    // A failed fetch keeps the keys we had.
    if (parsed.ok()) keys_ = *parsed;
    last_failure_ = parsed.status();
    fetching_ = false;
    fetched_.SignalAll();
  }
  if (keys_ == nullptr) {
    return absl::UnavailableError(last_failure_.ok()
                                      ? "the issuer's keys are not available yet; retry shortly"
                                      : std::string(last_failure_.message()));
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
