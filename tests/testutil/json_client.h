// A client of a TestNode's JSON API (spec/json-api.md) over real HTTPS with
// cpp-httplib, trusting the test federation's CA as any client of the node
// would. Not thread-safe: one client per thread.
#ifndef TRENODE_TESTS_TESTUTIL_JSON_CLIENT_H_
#define TRENODE_TESTS_TESTUTIL_JSON_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/testutil/test_node.h"

namespace httplib {
class SSLClient;
}

namespace trenode::testing {

// Adds `web { listen_address: "127.0.0.1:0" }` to a TestNode's config.
void ServeJson(trenode::v1::NodeConfig& config);

struct JsonReply {
  int http_status = 0;  // 0: no HTTP reply at all
  std::string content_type;
  std::string body;
  std::multimap<std::string, std::string> headers;
  // A unary reply's Connect code ("ok" for 200) and message; a stream's
  // from its end-of-stream message.
  std::string code;
  std::string message;
  // A stream's messages (JSON), in order.
  std::vector<std::string> messages;
};

class JsonClient {
 public:
  using Headers = std::multimap<std::string, std::string>;

  explicit JsonClient(const TestNode& node);
  ~JsonClient();

  // POST `path` with `body` as application/json, with "authorization:
  // Bearer <token>" if `token` is not empty, and `headers`.
  JsonReply Call(const std::string& path, const std::string& body, const std::string& token = "",
                 const Headers& headers = {});
  // A server-streaming call: `body` enveloped, as application/connect+json.
  JsonReply Stream(const std::string& path, const std::string& body,
                   const std::string& token = "", const Headers& headers = {});
  // Any request, exactly as given.
  JsonReply Raw(const std::string& method, const std::string& path, const std::string& body,
                const std::string& content_type, const Headers& headers);

  // Role `role`'s development token ("" for none), as TestNode::As.
  std::string TokenFor(const std::string& role) const;

 private:
  const TestNode& node_;
  std::unique_ptr<httplib::SSLClient> client_;
};

// The envelopes of a Connect stream's body: its messages and end-of-stream
// JSON; false if the framing is broken.
bool SplitEnvelopes(const std::string& body, std::vector<std::string>* messages,
                    std::string* end_of_stream);

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_JSON_CLIENT_H_
