#include "node/web/web_server.h"

#include <poll.h>
#include <algorithm>
#include <sys/socket.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "node/common/text.h"
#include "node/rpc/connect_status.h"
#include "node/rpc/grpc_status.h"
#include "node/web/bounded_workers.h"
#include "node/web/connect_codec.h"
#include "openssl/ssl.h"

namespace trenode::web {
namespace {

constexpr char kJson[] = "application/json";
constexpr char kStreamJson[] = "application/connect+json";
constexpr int64_t kDefaultMaxRequestBytes = 1 << 20;
constexpr int kDefaultReadTimeoutSeconds = 10;
constexpr int kDefaultThreads = 48;
constexpr size_t kQueuedConnectionsPerThread = 2;

// httplib's task queue over BoundedWorkers: its own ThreadPool queues
// accepted connections without limit.
class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t threads, size_t max_queued) : workers_(threads, max_queued) {}
  void enqueue(std::function<void()> fn) override { workers_.Enqueue(std::move(fn)); }
  void shutdown() override { workers_.Shutdown(); }

 private:
  BoundedWorkers workers_;
};
constexpr size_t kKeepAliveRequests = 10000;
constexpr int kMaxKeepAliveSeconds = 5;
// A unary call with no Connect-Timeout-Ms still ends, and one with a longer
// Connect-Timeout-Ms ends then too: no unary call holds a thread longer.
constexpr absl::Duration kMaxUnaryDeadline = absl::Minutes(5);
// A stream's Connect-Timeout-Ms may be longer (a watch), up to a day.
constexpr absl::Duration kMaxStreamDeadline = absl::Hours(24);

void Fail(httplib::Response& response, const grpc::Status& status, int http_status = 0) {
  response.status = http_status != 0 ? http_status : rpc::ConnectHttpStatus(status.error_code());
  response.set_content(rpc::ConnectErrorJson(status), kJson);
}

void Fail(httplib::Response& response, const absl::Status& status, int http_status = 0) {
  Fail(response, rpc::ToGrpcStatus(status), http_status);
}

// "application/json" of "Application/JSON; charset=utf-8".
std::string MediaType(const httplib::Request& request) {
  std::string type = request.get_header_value("Content-Type");
  absl::string_view bare = type;
  if (size_t semicolon = bare.find(';'); semicolon != absl::string_view::npos) {
    bare = bare.substr(0, semicolon);
  }
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(bare));
}

bool Printable(absl::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// The caller's credentials as the request states them, and where it comes
// from; refuses what gRPC metadata could not carry or what is ambiguous.
absl::StatusOr<CallerHeaders> CallerOf(const httplib::Request& request) {
  CallerHeaders caller;
  caller.client_address =
      absl::StrCat(request.remote_addr.find(':') == std::string::npos ? "ipv4:" : "ipv6:[",
                   request.remote_addr,
                   request.remote_addr.find(':') == std::string::npos ? "" : "]", ":",
                   request.remote_port);
  size_t tokens = request.get_header_value_count("Authorization");
  if (tokens > 1) {
    return absl::UnauthenticatedError("several authorization headers: send one bearer token");
  }
  if (tokens == 1) {
    std::string value = request.get_header_value("Authorization");
    if (!Printable(value)) {
      return absl::UnauthenticatedError("the authorization header must be \"Bearer <token>\"");
    }
    caller.authorization = std::move(value);
  }
  size_t roles = request.get_header_value_count("X-Trenode-Role");
  if (roles > 1) return absl::InvalidArgumentError("several x-trenode-role headers: send one");
  if (roles == 1) {
    std::string value = request.get_header_value("X-Trenode-Role");
    if (!Printable(value)) {
      return absl::InvalidArgumentError("the x-trenode-role header must be a role name");
    }
    caller.role = std::move(value);
  }
  return caller;
}

// Connect-Timeout-Ms, if sent: 1 to 10 digits (Connect's grammar), held to
// at most `longest`. Sent twice, or not digits: InvalidArgument.
absl::StatusOr<std::optional<absl::Time>> DeadlineOf(const httplib::Request& request,
                                                     absl::Duration longest) {
  size_t sent = request.get_header_value_count("Connect-Timeout-Ms");
  if (sent == 0) return std::optional<absl::Time>();
  std::string value = request.get_header_value("Connect-Timeout-Ms");
  bool digits = !value.empty() && value.size() <= 10 &&
                value.find_first_not_of("0123456789") == std::string::npos;
  int64_t ms = 0;
  if (sent > 1 || !digits || !absl::SimpleAtoi(value, &ms)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Connect-Timeout-Ms must be sent once, as 1 to 10 digits (milliseconds); got \"",
        PrintableText(value, 40), "\""));
  }
  return absl::Now() + std::min(absl::Milliseconds(ms), longest);
}

// True once the HTTP client has closed its connection (checked while a
// stream waits for the node, which is when a closed connection would
// otherwise hold the stream open).
bool ClientGone(int fd) {
  if (fd < 0) return false;
  pollfd watched{fd, POLLIN | POLLRDHUP, 0};
  if (poll(&watched, 1, 0) <= 0) return false;
  if (watched.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
  char byte;
  return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

// The Connect error body for what httplib refuses by itself (an oversized
// or malformed request), which comes without one.
httplib::Server::HandlerResponse DescribeHttpError(int64_t max_request_bytes,
                                                   const httplib::Request&,
                                                   httplib::Response& response) {
  if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  grpc::Status status;
  switch (response.status) {
    case 413:
      status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat("the request body is larger than this node accepts (",
                                         max_request_bytes, " bytes)"));
      break;
    case 404:
      status = grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such method here");
      break;
    case 414:
    case 431:
      status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "the request's head is too long");
      break;
    default:
      status = grpc::Status(response.status < 500 ? grpc::StatusCode::INVALID_ARGUMENT
                                                  : grpc::StatusCode::UNKNOWN,
                            absl::StrCat("the HTTP request was refused (", response.status, ")"));
  }
  response.set_content(rpc::ConnectErrorJson(status), kJson);
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

WebServer::WebServer(std::shared_ptr<grpc::Channel> node_channel,
                     const rpc::ForwardedCalls* forwarded, int64_t max_request_bytes,
                     ConsolePages console)
    : forwarder_(std::move(node_channel), forwarded),
      max_request_bytes_(max_request_bytes),
      console_(std::move(console)) {}

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Start(
    const trenode::v1::WebConfig& web, const trenode::v1::TlsConfig& tls,
    const trenode::v1::OidcConfig& oidc, std::shared_ptr<grpc::Channel> node_channel,
    const rpc::ForwardedCalls* forwarded) {
  int64_t max_bytes =
      web.max_request_bytes() > 0 ? web.max_request_bytes() : kDefaultMaxRequestBytes;
  int timeout = web.read_timeout_seconds() > 0 ? web.read_timeout_seconds()
                                               : kDefaultReadTimeoutSeconds;
  size_t threads = web.threads() > 0 ? web.threads() : kDefaultThreads;
  std::unique_ptr<WebServer> server(
      new WebServer(std::move(node_channel), forwarded, max_bytes, ConsolePages::Create(oidc)));
  // No client CA: no client certificate is asked for, so none can name a
  // caller here (spec/json-api.md).
  server->http_ = std::make_unique<httplib::SSLServer>(tls.certificate_file().c_str(),
                                                       tls.private_key_file().c_str());
  httplib::SSLServer& http = *server->http_;
  if (!http.is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "web: cannot serve HTTPS with tls.certificate_file ", tls.certificate_file(),
        " and tls.private_key_file ", tls.private_key_file()));
  }
  // TLS 1.2 or later, whatever the system's OpenSSL configuration allows.
  if (SSL_CTX_set_min_proto_version(http.ssl_context(), TLS1_2_VERSION) != 1) {
    return absl::InternalError("web: cannot require TLS 1.2 or later");
  }
  // At most this many accepted connections wait for a thread; past it the
  // listener stops accepting, and the rest wait in the kernel's backlog.
  const size_t queued = threads * kQueuedConnectionsPerThread;
  http.new_task_queue = [threads, queued] { return new BoundedTaskQueue(threads, queued); };
  http.set_payload_max_length(static_cast<size_t>(max_bytes));
  http.set_read_timeout(timeout, 0);
  http.set_write_timeout(timeout, 0);
  // An idle keep-alive connection holds a thread, and a stop waits for it.
  http.set_keep_alive_timeout(std::min(timeout, kMaxKeepAliveSeconds));
  http.set_keep_alive_max_count(kKeepAliveRequests);
  http.set_tcp_nodelay(true);
  http.set_default_headers({{"Cache-Control", "no-store"},
                            {"X-Content-Type-Options", "nosniff"}});
  WebServer* raw = server.get();
  http.set_pre_routing_handler([raw](const httplib::Request& request,
                                     httplib::Response& response) {
    if (raw->ServeConsole(request, response)) return httplib::Server::HandlerResponse::Handled;
    if (!raw->RefuseBeforeRouting(request, response)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    // The body, if any, is left unread: the connection cannot carry on, and
    // the answer says so (a client that reuses it anyway gets 400s).
    response.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Post(R"(/.*)", [raw](const httplib::Request& request, httplib::Response& response) {
    raw->Serve(request, response);
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_bytes](const httplib::Request& request, httplib::Response& response) {
        return DescribeHttpError(max_bytes, request, response);
      }));

  const std::string& address = web.listen_address();
  size_t colon = address.rfind(':');
  std::string host(absl::StripSuffix(absl::StripPrefix(address.substr(0, colon), "["), "]"));
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("web.listen_address: \"", address,
                                                   "\" must be host:port"));
  }
  if (port == 0) {
    port = http.bind_to_any_port(host);
  } else if (!http.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat("web: cannot listen on ", address,
                                               " (in use, or not an address of this machine)"));
  }
  server->port_ = port;
  server->listener_ = std::thread([raw] { raw->http_->listen_after_bind(); });
  // Stop must find it running, or it would not stop it.
  while (!http.is_running()) absl::SleepFor(absl::Milliseconds(1));
  return server;
}

WebServer::~WebServer() { Stop(); }

void WebServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (http_) http_->stop();
  if (listener_.joinable()) listener_.join();
}

bool WebServer::ServeConsole(const httplib::Request& request, httplib::Response& response) const {
  if ((request.method != "GET" && request.method != "HEAD") ||
      !ConsolePages::IsConsolePath(request.path)) {
    return false;
  }
  ConsoleReply reply = console_.Get(request.path);
  response.status = reply.http_status;
  for (const auto& [name, value] : reply.headers) response.set_header(name, value);
  response.set_content(std::move(reply.body), reply.content_type);
  return true;
}

bool WebServer::RefuseBeforeRouting(const httplib::Request& request,
                                    httplib::Response& response) const {
  // No CORS: the console is served from this origin, and no header here
  // lets another origin read a reply. A preflight is refused like any
  // other method but POST.
  if (request.method != "POST") {
    response.set_header("Allow", "POST");
    Fail(response,
         grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      absl::StrCat("the JSON API takes POST only, not ",
                                   PrintableText(request.method, 20))),
         405);
    return true;
  }
  absl::StatusOr<const JsonMethod*> method = methods_.Find(request.target);
  if (!method.ok()) {
    Fail(response, method.status(), 404);
    return true;
  }
  if (request.has_header("Origin")) {
    std::string origin = request.get_header_value("Origin");
    if (origin != absl::StrCat("https://", request.get_header_value("Host"))) {
      Fail(response,
           absl::PermissionDeniedError(absl::StrCat(
               "calls from another origin (", PrintableText(origin, 100),
               ") are not served: use the console this node serves, or a client without a browser")));
      return true;
    }
  }
  if (request.has_header("Connect-Protocol-Version") &&
      request.get_header_value("Connect-Protocol-Version") != "1") {
    Fail(response, absl::InvalidArgumentError("Connect-Protocol-Version must be 1"));
    return true;
  }
  std::string encoding = absl::AsciiStrToLower(request.get_header_value("Content-Encoding"));
  if (!encoding.empty() && encoding != "identity") {
    Fail(response, absl::UnimplementedError(absl::StrCat(
                       "Content-Encoding ", PrintableText(encoding, 40),
                       " is not accepted: send the body uncompressed (identity)")));
    return true;
  }
  const char* wanted = (*method)->server_streaming ? kStreamJson : kJson;
  if (MediaType(request) != wanted) {
    Fail(response,
         absl::InvalidArgumentError(absl::StrCat(
             "Content-Type must be ", wanted, " for ", (*method)->path,
             (*method)->server_streaming ? " (it streams its replies)" : "", "; got \"",
             PrintableText(request.get_header_value("Content-Type"), 100), "\"")),
         415);
    return true;
  }
  // A transfer coding with a Content-Length would have the library read a
  // chunked body of any size past the length checked here (CVE-2025-46728).
  if (!request.has_header("Content-Length") || request.has_header("Transfer-Encoding")) {
    Fail(response,
         absl::InvalidArgumentError(
             "send the body with a Content-Length and no Transfer-Encoding"),
         411);
    return true;
  }
  uint64_t length = 0;
  if (!absl::SimpleAtoi(request.get_header_value("Content-Length"), &length) ||
      length > static_cast<uint64_t>(max_request_bytes_)) {
    Fail(response,
         absl::ResourceExhaustedError(absl::StrCat(
             "the request body is larger than this node accepts (", max_request_bytes_,
             " bytes)")),
         413);
    return true;
  }
  return false;
}

void WebServer::Serve(const httplib::Request& request, httplib::Response& response) {
  absl::StatusOr<const JsonMethod*> method = methods_.Find(request.target);
  if (!method.ok()) return Fail(response, method.status(), 404);
  absl::StatusOr<CallerHeaders> caller = CallerOf(request);
  if (!caller.ok()) return Fail(response, caller.status());
  if ((*method)->server_streaming) return ServeStream(**method, *caller, request, response);
  ServeUnary(**method, *caller, request, response);
}

void WebServer::ServeUnary(const JsonMethod& method, const CallerHeaders& caller,
                           const httplib::Request& request, httplib::Response& response) {
  absl::StatusOr<std::optional<absl::Time>> deadline = DeadlineOf(request, kMaxUnaryDeadline);
  if (!deadline.ok()) return Fail(response, deadline.status());
  absl::StatusOr<std::string> binary = JsonToBinary(*method.request, request.body);
  if (!binary.ok()) return Fail(response, binary.status());
  std::string reply;
  grpc::Status status =
      forwarder_.Unary(method.path, *binary, caller,
                       deadline->value_or(absl::Now() + kMaxUnaryDeadline), &reply);
  if (!status.ok()) return Fail(response, status);
  absl::StatusOr<std::string> json = BinaryToJson(*method.reply, reply);
  if (!json.ok()) return Fail(response, json.status());
  response.status = 200;
  response.set_content(*std::move(json), kJson);
}

void WebServer::ServeStream(const JsonMethod& method, const CallerHeaders& caller,
                            const httplib::Request& request, httplib::Response& response) {
  // A stream's errors, even those found before it starts, come in its
  // end-of-stream message with HTTP 200.
  auto end_now = [&response](const absl::Status& why) {
    response.status = 200;
    response.set_content(Envelope(EndOfStreamJson(rpc::ToGrpcStatus(why)), true), kStreamJson);
  };
  absl::StatusOr<std::optional<absl::Time>> deadline = DeadlineOf(request, kMaxStreamDeadline);
  if (!deadline.ok()) return end_now(deadline.status());
  absl::StatusOr<std::string> payload = OnlyEnvelope(request.body);
  if (!payload.ok()) return end_now(payload.status());
  absl::StatusOr<std::string> binary = JsonToBinary(*method.request, *payload);
  if (!binary.ok()) return end_now(binary.status());
  int fd = request.ssl != nullptr ? SSL_get_fd(request.ssl) : -1;
  const JsonMethod* served = &method;
  response.status = 200;
  response.set_chunked_content_provider(
      kStreamJson, [this, served, caller, binary = *std::move(binary), deadline = *deadline, fd](
                       size_t, httplib::DataSink& sink) {
        bool writing = true;
        grpc::Status status = forwarder_.ServerStream(
            served->path, binary, caller, deadline,
            [&](const std::string& reply) {
              absl::StatusOr<std::string> json = BinaryToJson(*served->reply, reply);
              if (!json.ok()) return false;
              std::string message = Envelope(*json);
              writing = sink.write(message.data(), message.size());
              return writing;
            },
            [&] { return stopping_.load() || ClientGone(fd); });
        if (!writing) return false;  // the client is gone
        std::string end = Envelope(EndOfStreamJson(status), true);
        sink.write(end.data(), end.size());
        sink.done();
        return true;
      });
}

}  // namespace trenode::web
