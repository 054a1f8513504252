#include "tests/testutil/json_client.h"

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "httplib.h"
#include "node/web/connect_codec.h"

namespace trenode::testing {
namespace {

// "code" and "message" of a Connect error object.
void ReadError(const std::string& json, JsonReply* reply) {
  google::protobuf::Struct error;
  if (!google::protobuf::util::JsonStringToMessage(json, &error).ok()) return;
  const auto& fields = error.fields();
  if (auto it = fields.find("code"); it != fields.end()) reply->code = it->second.string_value();
  if (auto it = fields.find("message"); it != fields.end()) {
    reply->message = it->second.string_value();
  }
}

}  // namespace

void ServeJson(trenode::v1::NodeConfig& config) {
  config.mutable_web()->set_listen_address("127.0.0.1:0");
}

JsonClient::JsonClient(const TestNode& node) : node_(node) {
  client_ = std::make_unique<httplib::SSLClient>("127.0.0.1", node.web_port());
  client_->set_ca_cert_path(node.dir().File("pki/ca.pem").c_str());
  client_->enable_server_certificate_verification(true);
  client_->set_keep_alive(true);
  client_->set_tcp_nodelay(true);
  client_->set_read_timeout(30, 0);
}

JsonClient::~JsonClient() = default;

std::string JsonClient::TokenFor(const std::string& role) const {
  return role.empty() ? "" : node_.Token("test-" + role, {role});
}

JsonReply JsonClient::Raw(const std::string& method, const std::string& path,
                          const std::string& body, const std::string& content_type,
                          const Headers& headers) {
  httplib::Headers sent(headers.begin(), headers.end());
  httplib::Result result = [&] {
    if (method == "POST") return client_->Post(path.c_str(), sent, body, content_type.c_str());
    if (method == "GET") return client_->Get(path.c_str(), sent);
    if (method == "OPTIONS") return client_->Options(path.c_str(), sent);
    return client_->Put(path.c_str(), sent, body, content_type.c_str());
  }();
  JsonReply reply;
  if (!result) return reply;
  // After "Connection: close" the node reads no more from this connection.
  auto [first, last] = result->headers.equal_range("Connection");
  for (auto it = first; it != last; ++it) {
    if (it->second == "close") client_->stop();
  }
  reply.http_status = result->status;
  reply.content_type = result->get_header_value("Content-Type");
  reply.body = result->body;
  reply.headers.insert(result->headers.begin(), result->headers.end());
  if (reply.content_type == "application/connect+json") {
    std::string end;
    if (SplitEnvelopes(reply.body, &reply.messages, &end)) {
      google::protobuf::Struct end_message;
      if (google::protobuf::util::JsonStringToMessage(end, &end_message).ok()) {
        const auto& fields = end_message.fields();
        if (auto it = fields.find("error"); it != fields.end()) {
          std::string error;
          (void)google::protobuf::util::MessageToJsonString(it->second, &error);
          ReadError(error, &reply);
        } else {
          reply.code = "ok";
        }
      }
    }
  } else if (reply.http_status == 200) {
    reply.code = "ok";
  } else {
    ReadError(reply.body, &reply);
  }
  return reply;
}

JsonReply JsonClient::Call(const std::string& path, const std::string& body,
                           const std::string& token, const Headers& headers) {
  Headers all = headers;
  if (!token.empty()) all.emplace("Authorization", "Bearer " + token);
  return Raw("POST", path, body, "application/json", all);
}

JsonReply JsonClient::Stream(const std::string& path, const std::string& body,
                             const std::string& token, const Headers& headers) {
  Headers all = headers;
  if (!token.empty()) all.emplace("Authorization", "Bearer " + token);
  return Raw("POST", path, web::Envelope(body), "application/connect+json", all);
}

bool SplitEnvelopes(const std::string& body, std::vector<std::string>* messages,
                    std::string* end_of_stream) {
  size_t at = 0;
  while (at + 5 <= body.size()) {
    unsigned char flags = static_cast<unsigned char>(body[at]);
    uint32_t size = 0;
    for (int i = 1; i < 5; ++i) size = (size << 8) | static_cast<unsigned char>(body[at + i]);
    if (at + 5 + size > body.size()) return false;
    std::string payload = body.substr(at + 5, size);
    at += 5 + size;
    if (flags == 2) {
      *end_of_stream = std::move(payload);
      return at == body.size();
    }
    if (flags != 0) return false;
    messages->push_back(std::move(payload));
  }
  return false;
}

}  // namespace trenode::testing
