// HttpClient: HTTP/1.1 over libcurl for the cloud adapters. It sends exactly
// the headers it is given (plus curl's Host, Content-Length and Accept), so
// that what a signer signed is what goes on the wire. Whole responses, or a
// body read as it arrives (one response is one snapshot of an object, however
// slowly it is read).
//
// Transport failures (no connection, TLS, reset, timeout) are Unavailable and
// name the host; every HTTP status, 5xx included, is a response: deciding
// what a status means is the caller's.
//
// Thread-safety: an HttpClient may be used from many threads at once; it
// keeps idle connections for reuse. An HttpBodyStream belongs to one thread.
#ifndef TRENODE_ADAPTERS_CLOUD_HTTP_CLIENT_H_
#define TRENODE_ADAPTERS_CLOUD_HTTP_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace trenode::adapters::cloud {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;     // absolute; path and query already percent-encoded
  std::vector<HttpHeader> headers;
  std::string body;
  // Sent on a new connection. libcurl sends a request again, on its own, when
  // the reused connection it went out on turns out to have been closed; a
  // request that must never be done twice (it is not idempotent) sets this.
  bool fresh_connection = false;

  // The value of the first header named `name` (any case), if any.
  std::optional<std::string> Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 0;
  std::vector<HttpHeader> headers;  // names lower-cased, in arrival order
  std::string body;

  std::optional<std::string> Header(absl::string_view name) const;
};

struct HttpOptions {
  absl::Duration connect_timeout = absl::Seconds(10);
  // The longest a whole exchange may take, and the longest a body stream may
  // go without a byte.
  absl::Duration timeout = absl::Minutes(5);
  // PEM bundle to trust instead of the system's (e.g. a test CA).
  std::string ca_file;
  // The longest body Send accepts (listings, errors, credentials): a longer
  // one fails the exchange, Unavailable. Streamed bodies are not limited.
  size_t max_response_bytes = 16 << 20;
  // Connect directly, ignoring http_proxy and the like (for credential
  // endpoints, whose answers must not pass through anyone else).
  bool direct = false;
};

// A response whose body is read as it arrives.
class HttpBodyStream {
 public:
  virtual ~HttpBodyStream() = default;
  virtual int status() const = 0;
  virtual const std::vector<HttpHeader>& headers() const = 0;
  std::optional<std::string> Header(absl::string_view name) const;
  // Up to `max_bytes` of the body's next bytes; empty at its end.
  // Unavailable if the connection fails first.
  virtual absl::StatusOr<std::string> Read(size_t max_bytes) = 0;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request);
  // Sends `request` and returns once the response's status and headers are in.
  absl::StatusOr<std::unique_ptr<HttpBodyStream>> Open(const HttpRequest& request);

 private:
  friend class CurlBodyStream;
  void* TakeHandle();
  void ReturnHandle(void* handle);

  const HttpOptions options_;
  absl::Mutex mu_;
  std::vector<void*> idle_ ABSL_GUARDED_BY(mu_);  // CURL* with live connections
};

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_HTTP_CLIENT_H_
