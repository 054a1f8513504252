// ConsolePages: what the node answers to a browser's GET for the web console
// (spec/web-console.md): the files built into the binary, and
// /console/config.json, which tells the pages the node's OIDC issuer, client
// id and role mappings, from the node's own config. Every answer carries the
// console's security headers (a strict Content-Security-Policy whose
// connect-src is this origin and the issuer's, no framing, no referrer).
// It decides nothing about callers: the pages' data comes from JSON calls,
// which the node authorizes. Immutable after construction; thread-safe.
#ifndef TRENODE_NODE_WEB_CONSOLE_PAGES_H_
#define TRENODE_NODE_WEB_CONSOLE_PAGES_H_

#include <string>
#include <utility>
#include <vector>

#include "trenode/v1/config.pb.h"

namespace trenode::web {

struct ConsoleReply {
  int http_status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class ConsolePages {
 public:
  // The pages sign people in at `oidc`'s issuer as the public client named
  // by its first audience; an issuer that is not an https URL (a node on
  // development tokens) gives a console that says it cannot sign in.
  static ConsolePages Create(const trenode::v1::OidcConfig& oidc);

  // True for the paths the console serves by GET: "/", "/index.html" and
  // "/console/<file>".
  static bool IsConsolePath(const std::string& path);

  // The answer to GET `path` (without query string): the file, config.json,
  // or 404 with a plain-text body. Every answer has the security headers.
  ConsoleReply Get(const std::string& path) const;

  // The Content-Security-Policy every console answer carries.
  const std::string& content_security_policy() const { return csp_; }

 private:
  ConsolePages(std::string csp, std::string config_json)
      : csp_(std::move(csp)), config_json_(std::move(config_json)) {}
  void AddSecurityHeaders(ConsoleReply& reply) const;

  std::string csp_;
  std::string config_json_;
};

}  // namespace trenode::web

#endif  // TRENODE_NODE_WEB_CONSOLE_PAGES_H_
