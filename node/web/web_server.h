// WebServer: the node's JSON API (spec/json-api.md) — HTTPS with the node's
// own certificate and key, serving the Connect protocol's JSON form of every
// trenode.v1 unary and server-streaming method. It decides nothing about the
// caller: each call is forwarded as a gRPC call of the node (GrpcForwarder),
// where the same CallGate, authorization table, activity log and handlers
// decide it. What it refuses itself is HTTP that is not such a call: another
// path or HTTP method, another content type, a compressed or oversized body,
// JSON that is not the method's request, a cross-origin request. GETs of
// the web console's pages are answered from ConsolePages.
// Thread-safe; Stop may be called from any thread.
#ifndef TRENODE_NODE_WEB_WEB_SERVER_H_
#define TRENODE_NODE_WEB_WEB_SERVER_H_

#include <atomic>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "node/rpc/forwarded_calls.h"
#include "node/web/console_pages.h"
#include "node/web/grpc_forwarder.h"
#include "node/web/json_methods.h"
#include "trenode/v1/config.pb.h"

namespace httplib {
class SSLServer;
struct Request;
struct Response;
}  // namespace httplib

namespace trenode::web {

class WebServer {
 public:
  // Listens on web.listen_address with tls's certificate and key (TLS 1.2
  // or later; no client certificate is asked for), serves the web console
  // (ConsolePages, signing in at `oidc`'s issuer) by GET, and forwards calls
  // over `node_channel`, the
  // node's in-process channel. `forwarded` must outlive the server.
  // InvalidArgument if the certificate or key cannot be loaded; Unavailable
  // if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<WebServer>> Start(
      const trenode::v1::WebConfig& web, const trenode::v1::TlsConfig& tls,
      const trenode::v1::OidcConfig& oidc, std::shared_ptr<grpc::Channel> node_channel,
      const rpc::ForwardedCalls* forwarded);

  // Stops if still running.
  ~WebServer();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // Stops accepting connections and ends open streams (their callers see the
  // node's status, or `canceled`); returns when every connection has closed.
  // Idempotent.
  void Stop();

 private:
  WebServer(std::shared_ptr<grpc::Channel> node_channel, const rpc::ForwardedCalls* forwarded,
            int64_t max_request_bytes, ConsolePages console);
  // Answers a GET or HEAD of a console path; false for anything else.
  bool ServeConsole(const httplib::Request& request, httplib::Response& response) const;
  // Refuses what is not a call of a served method (before the body is read).
  bool RefuseBeforeRouting(const httplib::Request& request, httplib::Response& response) const;
  void Serve(const httplib::Request& request, httplib::Response& response);
  void ServeUnary(const JsonMethod& method, const CallerHeaders& caller,
                  const httplib::Request& request, httplib::Response& response);
  void ServeStream(const JsonMethod& method, const CallerHeaders& caller,
                   const httplib::Request& request, httplib::Response& response);

  JsonMethods methods_;
  GrpcForwarder forwarder_;
  int64_t max_request_bytes_;
  ConsolePages console_;
  std::unique_ptr<httplib::SSLServer> http_;
  std::thread listener_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

}  // namespace trenode::web

#endif  // TRENODE_NODE_WEB_WEB_SERVER_H_
