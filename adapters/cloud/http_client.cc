#include "adapters/cloud/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace trenode::adapters::cloud {
namespace {

std::optional<std::string> FindHeader(const std::vector<HttpHeader>& headers,
                                      absl::string_view name) {
  for (const HttpHeader& header : headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) return header.value;
  }
  return std::nullopt;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string HostOf(const std::string& url) {
  absl::string_view rest = url;
  if (size_t scheme = rest.find("://"); scheme != absl::string_view::npos) {
    rest.remove_prefix(scheme + 3);
  }
  return std::string(rest.substr(0, rest.find('/')));
}

// What the callbacks of one exchange fill in.
struct Exchange {
  int status = 0;
  std::vector<HttpHeader> headers;
  bool headers_done = false;
  std::string body;
  size_t pause_above = 0;  // 0: never pause
  bool paused = false;
  size_t max_body = 0;  // whole responses only: a longer body fails the exchange
  bool too_large = false;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  absl::string_view line(data, size * count);
  line = absl::StripTrailingAsciiWhitespace(line);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after a 100 Continue, say): forget the last one's headers.
    exchange->headers.clear();
    exchange->headers_done = false;
    absl::string_view rest = line.substr(line.find(' ') + 1);
    (void)absl::SimpleAtoi(rest.substr(0, 3), &exchange->status);
  } else if (line.empty()) {
    if (exchange->status >= 200) exchange->headers_done = true;
  } else if (size_t colon = line.find(':'); colon != absl::string_view::npos) {
    exchange->headers.push_back(
        {absl::AsciiStrToLower(line.substr(0, colon)),
         std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)))});
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  if (exchange->pause_above > 0 && exchange->body.size() >= exchange->pause_above) {
    exchange->paused = true;
    return CURL_WRITEFUNC_PAUSE;  // delivered again once unpaused
  }
  if (exchange->max_body > 0 && exchange->body.size() + size * count > exchange->max_body) {
    exchange->too_large = true;
    return 0;  // curl ends the transfer with a write error
  }
  exchange->body.append(data, size * count);
  return size * count;
}

// Sets `curl` up for `request`; the returned list must outlive the transfer.
curl_slist* Prepare(CURL* curl, const HttpRequest& request, const HttpOptions& options,
                    Exchange* exchange) {
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, request.fresh_connection ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
  if (options.direct) curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, exchange);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, exchange);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || !request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_slist* list = nullptr;
  for (const HttpHeader& header : request.headers) {
    list = curl_slist_append(list, absl::StrCat(header.name, ": ", header.value).c_str());
  }
  // curl's own defaults for bodies are not wanted: nothing unsigned is added.
  if (!request.Header("content-type")) list = curl_slist_append(list, "Content-Type:");
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  return list;
}

absl::Status TransportError(const HttpRequest& request, CURLcode code, const char* detail) {
  return absl::UnavailableError(absl::StrCat(request.method, " to ", HostOf(request.url),
                                             " failed: ", *detail ? detail : curl_easy_strerror(code)));
}

}  // namespace

std::optional<std::string> HttpRequest::Header(absl::string_view name) const {
  return FindHeader(headers, name);
}
std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  return FindHeader(headers, name);
}
std::optional<std::string> HttpBodyStream::Header(absl::string_view name) const {
  return FindHeader(headers(), name);
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { InitCurlOnce(); }

HttpClient::~HttpClient() {
  absl::MutexLock lock(&mu_);
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpClient::TakeHandle() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      curl_easy_reset(static_cast<CURL*>(handle));  // keeps its connections
      return handle;
    }
  }
  return curl_easy_init();
}

void HttpClient::ReturnHandle(void* handle) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < 16) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

absl::StatusOr<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) return absl::ResourceExhaustedError("cannot start an HTTP exchange");
  Exchange exchange;
  exchange.max_body = options_.max_response_bytes;
  char detail[CURL_ERROR_SIZE] = "";
  curl_slist* list = Prepare(curl, request, options_, &exchange);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  CURLcode code = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(list);
  if (code != CURLE_OK) {
    curl_easy_cleanup(curl);  // its connection may be broken
    if (exchange.too_large) {
      return absl::UnavailableError(absl::StrCat(request.method, " to ", HostOf(request.url),
                                                 ": the answer is longer than ",
                                                 options_.max_response_bytes, " bytes"));
    }
    return TransportError(request, code, detail);
  }
  ReturnHandle(curl);
  HttpResponse response;
  response.status = exchange.status;
  response.headers = std::move(exchange.headers);
  response.body = std::move(exchange.body);
  return response;
}

// A body read through curl's multi interface: the transfer advances only
// while Read wants bytes, and pauses once a buffer's worth is waiting.
class CurlBodyStream : public HttpBodyStream {
 public:
  CurlBodyStream(HttpClient* client, CURL* curl, const HttpRequest& request)
      : client_(client), curl_(curl), request_(request), multi_(curl_multi_init()) {}

  ~CurlBodyStream() override {
    if (multi_ != nullptr) {
      curl_multi_remove_handle(multi_, curl_);
      curl_multi_cleanup(multi_);
    }
    curl_slist_free_all(list_);
    if (done_ && result_ == CURLE_OK) {
      client_->ReturnHandle(curl_);
    } else {
      curl_easy_cleanup(curl_);  // an unfinished transfer cannot be reused
    }
  }

  absl::Status Start(const HttpOptions& options) {
    if (multi_ == nullptr) return absl::ResourceExhaustedError("cannot start an HTTP exchange");
    list_ = Prepare(curl_, request_, options, &exchange_);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, detail_);
    // A stream may be read slowly; it fails only if no byte moves for this long.
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(absl::ToInt64Seconds(options.timeout)));
    exchange_.pause_above = kBuffer;
    curl_multi_add_handle(multi_, curl_);
    absl::Time deadline = absl::Now() + options.timeout;
    while (!exchange_.headers_done && !done_) {
      if (absl::Now() > deadline) {
        return absl::UnavailableError(absl::StrCat(request_.method, " to ", HostOf(request_.url),
                                                   ": no answer within ",
                                                   absl::FormatDuration(options.timeout)));
      }
      // A transfer that fails after its headers arrived is a response whose
      // body fails: Read reports it once the bytes that did arrive are read.
      if (absl::Status stepped = Step(); !stepped.ok() && !exchange_.headers_done) return stepped;
    }
    return absl::OkStatus();
  }

  int status() const override { return exchange_.status; }
  const std::vector<HttpHeader>& headers() const override { return exchange_.headers; }

  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    // Never pause below what is asked for, or the loop below waits forever.
    exchange_.pause_above = std::max(kBuffer, max_bytes);
    while (exchange_.body.size() - offset_ < max_bytes && !done_) {
      if (exchange_.paused) {
        Compact();
        exchange_.paused = false;
        curl_easy_pause(curl_, CURLPAUSE_CONT);
      }
      if (absl::Status stepped = Step(); !stepped.ok()) {
        if (exchange_.body.size() == offset_) return stepped;
        break;  // the bytes that did arrive first
      }
    }
    if (exchange_.body.size() == offset_ && done_ && result_ != CURLE_OK) {
      return TransportError(request_, result_, detail_);  // not a clean end
    }
    size_t n = std::min(max_bytes, exchange_.body.size() - offset_);
    std::string out = exchange_.body.substr(offset_, n);
    offset_ += n;
    return out;
  }

 private:
  static constexpr size_t kBuffer = 1 << 20;

  void Compact() {
    exchange_.body.erase(0, offset_);
    offset_ = 0;
  }

  absl::Status Step() {
    int running = 0;
    curl_multi_perform(multi_, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
      if (message->msg == CURLMSG_DONE) {
        done_ = true;
        result_ = message->data.result;
      }
    }
    if (done_ && result_ != CURLE_OK) return TransportError(request_, result_, detail_);
    if (!done_ && running > 0 && !exchange_.paused) curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    if (!done_ && running == 0 && !exchange_.paused) {
      return absl::UnavailableError(
          absl::StrCat(request_.method, " to ", HostOf(request_.url), " ended early"));
    }
    return absl::OkStatus();
  }

  HttpClient* client_;
  CURL* curl_;
  HttpRequest request_;
  CURLM* multi_;
  curl_slist* list_ = nullptr;
  Exchange exchange_;
  size_t offset_ = 0;
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
  char detail_[CURL_ERROR_SIZE] = "";
};

absl::StatusOr<std::unique_ptr<HttpBodyStream>> HttpClient::Open(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) return absl::ResourceExhaustedError("cannot start an HTTP exchange");
  auto stream = std::make_unique<CurlBodyStream>(this, curl, request);
  if (absl::Status started = stream->Start(options_); !started.ok()) return started;
  return stream;
}

}  // namespace trenode::adapters::cloud
