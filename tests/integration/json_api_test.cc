// The JSON API (spec/json-api.md) over real HTTPS on loopback, with the test
// federation's certificates and the development issuer's tokens: calls that
// round-trip as gRPC's do, the HTTP it refuses itself, and an attacker's
// tries (forged headers, huge and slow requests, path tricks, other origins,
// internal services). The authorization table over both transports is in
// authorization_matrix_test.cc.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "adapters/onprem/posix_object_store.h"
#include "node/auth/jwt_signer.h"
#include "node/log/activity_event.h"
#include "node/web/connect_codec.h"
#include "openssl/ssl.h"
#include "tests/testutil/datasets.h"
#include "tests/testutil/json_client.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/activity_log.pb.h"
#include "trenode/v1/catalogue.grpc.pb.h"
#include "trenode/v1/governance.pb.h"

namespace trenode {
namespace {
using testing::JsonClient;
using testing::JsonReply;
using testing::TestNode;

constexpr int64_t kMaxRequestBytes = 64 << 10;
constexpr char kGetDataset[] = "/trenode.v1.Catalogue/GetDataset";

class JsonApiTest : public ::testing::Test {
 protected:
  JsonApiTest()
      : node_([](trenode::v1::NodeConfig& config) {
          testing::ServeJson(config);
          config.mutable_web()->set_max_request_bytes(kMaxRequestBytes);
          config.mutable_web()->set_read_timeout_seconds(1);
        }),
        json_(node_) {}

  // Registers dataset `id` as a data steward, over gRPC.
  void Register(const std::string& id) {
    auto objects = *adapters::PosixObjectStore::Open(node_.config().object_store().posix().root());
    trenode::v1::RegisterDatasetRequest request;
    *request.mutable_dataset() = testing::SampleDataset(id, "Heart failure cohort", "Echo data.");
    ASSERT_TRUE(adapters::WriteObject(*objects, request.dataset().steward().storage_location(), "x")
                    .ok());
    trenode::v1::Dataset reply;
    grpc::Status status = node_.Catalogue()->RegisterDataset(
        testing::WithToken(node_.Token("sam", {"data_steward"})).get(), request, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  TestNode node_;
  JsonClient json_;
};

TEST_F(JsonApiTest, GetDatasetOverJsonIsTheSameDatasetAsOverGrpc) {
  Register("hf-echo");
  std::string researcher = node_.Token("ada", {"researcher"});
  JsonReply reply = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher);
  ASSERT_EQ(reply.http_status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "application/json");
  trenode::v1::Dataset over_json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(reply.body, &over_json).ok());
  trenode::v1::GetDatasetRequest request;
  request.set_id("hf-echo");
  trenode::v1::Dataset over_grpc;
  ASSERT_TRUE(node_.Catalogue()->GetDataset(testing::WithToken(researcher).get(), request,
                                            &over_grpc).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(over_json, over_grpc))
      << over_json.DebugString() << " vs " << over_grpc.DebugString();
  EXPECT_EQ(over_json.id(), "hf-echo");
  EXPECT_FALSE(over_json.has_steward());  // a researcher's view, as over gRPC
  // Not found is the node's own error, in a Connect body.
  JsonReply missing = json_.Call(kGetDataset, R"({"id":"nope"})", researcher);
  EXPECT_EQ(missing.http_status, 404);
  EXPECT_EQ(missing.code, "not_found");
  EXPECT_TRUE(absl::StrContains(missing.message, "nope")) << missing.message;
}

TEST_F(JsonApiTest, AJsonCallIsInTheActivityLogAsItsCaller) {
  JsonReply created = json_.Call("/trenode.v1.Governance/CreateProject",
                                 R"({"project":{"id":"web-study","title":"Web","laySummary":"A study."}})",
                                 node_.Token("ada", {"researcher"}));
  ASSERT_EQ(created.http_status, 200) << created.body;
  EXPECT_TRUE(absl::StrContains(created.body, R"("id":"web-study")")) << created.body;
  // Read back over the JSON API's stream form.
  JsonReply entries = json_.Stream("/trenode.v1.ActivityLog/GetEntries", R"({"action":"auth.allow"})",
                                   node_.Token("audrey", {"auditor"}));
  ASSERT_EQ(entries.http_status, 200);
  EXPECT_EQ(entries.content_type, "application/connect+json");
  ASSERT_EQ(entries.code, "ok") << entries.body;
  bool found = false;
  for (const std::string& message : entries.messages) {
    trenode::v1::LogEntry entry;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(message, &entry).ok()) << message;
    absl::StatusOr<log::ActivityEvent> event = log::ParseLeaf(entry.leaf());
    ASSERT_TRUE(event.ok());
    found |= event->actor == "ada@test-node" && event->role == "researcher" &&
             event->object == "/trenode.v1.Governance/CreateProject";
  }
  EXPECT_TRUE(found) << entries.messages.size() << " entries";
}

TEST_F(JsonApiTest, UnknownMethodsInternalServicesAndPathTricksAre404) {
  std::string steward = node_.Token("sam", {"data_steward"});
  for (const char* path : {"/trenode.v1.Catalogue/NoSuchMethod", "/grpc.health.v1.Health/Check",
                           "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                           "/trenode.v1.Catalogue/../Governance/ListProjects",
                           "/trenode.v1.Catalogue/GetDataset/..", "/trenode.v1.Catalogue%2FGetDataset",
                           "/trenode.v1.Catalogue/GetDataset?id=x", "/./trenode.v1.Catalogue/GetDataset",
                           "/trenode.v1.Catalogue/ImportDataset", "/trenode.v1.Federation/Attend",
                           "/", "/index.html"}) {
    JsonReply reply = json_.Call(path, "{}", steward);
    EXPECT_EQ(reply.http_status, 404) << path;
    EXPECT_EQ(reply.content_type, "application/json") << path;
    EXPECT_EQ(reply.code, "unimplemented") << path << ": " << reply.body;
  }
  EXPECT_TRUE(absl::StrContains(json_.Call("/trenode.v1.Catalogue/ImportDataset", "{}", steward).message,
                                "call it over gRPC"));
  JsonReply get = json_.Raw("GET", kGetDataset, "", "", {});
  EXPECT_EQ(get.http_status, 405);
  EXPECT_EQ(get.headers.count("Allow"), 1u);
  EXPECT_EQ(get.code, "unimplemented");
}

TEST_F(JsonApiTest, WrongContentTypeIs415AndNamesTheRightOne) {
  std::string researcher = node_.Token("ada", {"researcher"});
  JsonReply text = json_.Raw("POST", kGetDataset, R"({"id":"x"})", "text/plain",
                             {{"Authorization", "Bearer " + researcher}});
  EXPECT_EQ(text.http_status, 415);
  EXPECT_EQ(text.code, "invalid_argument");
  EXPECT_TRUE(absl::StrContains(text.message, "application/json")) << text.message;
  JsonReply proto = json_.Raw("POST", kGetDataset, "", "application/proto", {});
  EXPECT_EQ(proto.http_status, 415);
  // A streaming method wants the streaming form, and a unary one the unary form.
  JsonReply unary_form = json_.Call("/trenode.v1.ActivityLog/WatchEntries", "{}", researcher);
  EXPECT_EQ(unary_form.http_status, 415);
  EXPECT_TRUE(absl::StrContains(unary_form.message, "application/connect+json"));
  JsonReply stream_form = json_.Stream(kGetDataset, "{}", researcher);
  EXPECT_EQ(stream_form.http_status, 415);
  // With a charset it is still JSON.
  Register("hf-echo");
  JsonReply charset = json_.Raw("POST", kGetDataset, R"({"id":"hf-echo"})",
                                "application/json; charset=utf-8",
                                {{"Authorization", "Bearer " + researcher}});
  EXPECT_EQ(charset.http_status, 200) << charset.body;
}

TEST_F(JsonApiTest, MalformedJsonIsInvalidArgumentNamingTheProblem) {
  std::string researcher = node_.Token("ada", {"researcher"});
  struct Case {
    const char* body;
    const char* named;
  };
  for (const Case& c : {Case{R"({"idd":"x"})", "idd"}, Case{R"({"id":7})", "id"},
                        Case{R"({"id":"x")", "GetDatasetRequest"}, Case{"", "send {}"},
                        Case{"[]", "GetDatasetRequest"}}) {
    JsonReply reply = json_.Call(kGetDataset, c.body, researcher);
    EXPECT_EQ(reply.http_status, 400) << c.body;
    EXPECT_EQ(reply.code, "invalid_argument") << c.body;
    EXPECT_TRUE(absl::StrContains(reply.message, c.named)) << c.body << ": " << reply.message;
  }
  // A stream's refusal comes in its end-of-stream message.
  JsonReply stream = json_.Stream("/trenode.v1.ActivityLog/GetEntries", R"({"stat":1})",
                                  node_.Token("audrey", {"auditor"}));
  EXPECT_EQ(stream.http_status, 200);
  EXPECT_EQ(stream.code, "invalid_argument");
  EXPECT_TRUE(absl::StrContains(stream.message, "stat")) << stream.message;
  JsonReply bad_envelope = json_.Raw("POST", "/trenode.v1.ActivityLog/GetEntries", "{}",
                                     "application/connect+json", {});
  EXPECT_EQ(bad_envelope.code, "invalid_argument");
}

TEST_F(JsonApiTest, OversizedCompressedAndUnmeasuredBodiesAreRefusedUnread) {
  std::string researcher = node_.Token("ada", {"researcher"});
  std::string huge = absl::StrCat(R"({"id":")", std::string(kMaxRequestBytes, 'a'), R"("})");
  // Each refused body is left unread and its connection closed: a fresh
  // client for each.
  JsonReply oversized = JsonClient(node_).Call(kGetDataset, huge, researcher);
  EXPECT_EQ(oversized.http_status, 413);
  EXPECT_EQ(oversized.code, "resource_exhausted");
  EXPECT_TRUE(absl::StrContains(oversized.message, std::to_string(kMaxRequestBytes)));
  JsonReply gzip = JsonClient(node_).Call(kGetDataset, R"({"id":"x"})", researcher,
                                          {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(gzip.code, "unimplemented");
  EXPECT_EQ(gzip.http_status, 501);
  // A chunked body has no length to check before it is read.
  httplib::SSLClient client("127.0.0.1", node_.web_port());
  client.set_ca_cert_path(node_.dir().File("pki/ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  httplib::Result chunked = client.Post(
      kGetDataset, {{"Authorization", "Bearer " + researcher}},
      [](size_t, httplib::DataSink& sink) {
        sink.os << R"({"id":"no-such-dataset"})";
        sink.done();
        return true;
      },
      "application/json");
  // The node answers 411 and closes the connection without reading the
  // body, so the client may see the close before the answer; either way the
  // body was not taken (taken, it would be a not_found answer).
  if (chunked) EXPECT_EQ(chunked->status, 411) << chunked->body;
  // Nor with a small Content-Length beside it: the library would read the
  // chunked body whatever its size, past the length checked.
  httplib::SSLClient smuggler("127.0.0.1", node_.web_port());
  smuggler.set_ca_cert_path(node_.dir().File("pki/ca.pem").c_str());
  smuggler.enable_server_certificate_verification(true);
  httplib::Result both = smuggler.Post(
      kGetDataset, {{"Authorization", "Bearer " + researcher}, {"Content-Length", "2"}},
      [](size_t, httplib::DataSink& sink) {
        sink.os << R"({"id":"no-such-dataset"})";
        sink.done();
        return true;
      },
      "application/json");
  if (both) EXPECT_EQ(both->status, 411) << both->body;
  EXPECT_EQ(json_.Call(kGetDataset, R"({"id":"no-such-dataset"})", researcher).code, "not_found");
}

TEST_F(JsonApiTest, CallersWithoutAValidTokenAreUnauthenticated) {
  JsonReply none = json_.Call(kGetDataset, R"({"id":"x"})");
  EXPECT_EQ(none.http_status, 401);
  EXPECT_EQ(none.code, "unauthenticated");
  EXPECT_TRUE(absl::StrContains(none.message, "bearer token")) << none.message;
  JsonReply forged = json_.Call(kGetDataset, R"({"id":"x"})", "eyJhbGciOiJub25lIn0.e30.");
  EXPECT_EQ(forged.code, "unauthenticated");
  JsonReply basic = json_.Raw("POST", kGetDataset, "{}", "application/json",
                              {{"Authorization", "Basic YWRhOnB3"}});
  EXPECT_EQ(basic.code, "unauthenticated");
  // A token of another issuer's key.
  auto other = *auth::DevSigningKey::Generate();
  absl::Time now = absl::Now();
  std::string stranger = *auth::MintDevToken(
      *other, {TestNode::kIssuer, TestNode::kAudience, "mallory", {"node_admin"}, {},
              now - absl::Seconds(5), now + absl::Minutes(5)});
  EXPECT_EQ(json_.Call(kGetDataset, R"({"id":"x"})", stranger).code, "unauthenticated");
}

TEST_F(JsonApiTest, RoleAndIdentityHeadersCannotBeForged) {
  Register("hf-echo");
  std::string researcher = node_.Token("ada", {"researcher"});
  // A role the token does not grant.
  JsonReply escalated = json_.Call("/trenode.v1.Catalogue/RetireDataset", R"({"id":"hf-echo"})",
                                   researcher, {{"X-Trenode-Role", "data_steward"}});
  EXPECT_EQ(escalated.http_status, 403);
  EXPECT_TRUE(absl::StrContains(escalated.message, "does not grant the role")) << escalated.message;
  // Two role headers, or two tokens, are ambiguous.
  JsonReply two_roles = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher,
                                   {{"X-Trenode-Role", "researcher"}, {"x-trenode-role", "node_admin"}});
  EXPECT_EQ(two_roles.http_status, 400);
  JsonReply two_tokens = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher,
                                    {{"Authorization", "Bearer " + node_.Token("root", {"node_admin"})}});
  EXPECT_EQ(two_tokens.code, "unauthenticated");
  // Headers that look like the node's own metadata are not forwarded: a
  // service account or partner cannot be named over HTTP.
  JsonReply impersonation = json_.Call(
      "/trenode.v1.Federation/GetCosignatures", "{}", "",
      {{"x-trenode-forwarded-for", "ipv4:203.0.113.9:1"},
       {"x-trenode-forwarder-key", std::string(64, '0')},
       {"x-ssl-client-cert", node_.node_certificate().certificate_pem.substr(0, 60)},
       {"grpc-internal-encoding-request", "gzip"}});
  EXPECT_EQ(impersonation.code, "unauthenticated");
  JsonReply still_researcher = json_.Call("/trenode.v1.Catalogue/RetireDataset", R"({"id":"hf-echo"})",
                                          researcher, {{"x-trenode-forwarded-for", "ipv4:10.0.0.1:1"}});
  EXPECT_EQ(still_researcher.http_status, 403);
  EXPECT_TRUE(absl::StrContains(still_researcher.message, " may not call ")) << still_researcher.message;
}

// Refusals without an identity are summarised per source: over the JSON API
// the source is the HTTP client, and no header — over HTTP or gRPC — can
// choose another.
TEST_F(JsonApiTest, RefusalSummariesNameTheRealClientWhateverTheHeadersSay) {
  const std::multimap<std::string, std::string> forged = {
      {"x-trenode-forwarded-for", "ipv4:203.0.113.9:1"},
      {"x-trenode-forwarder-key", std::string(64, 'a')}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(json_.Call(kGetDataset, "{}", "", forged).code, "unauthenticated");
  }
  auto context = node_.As("");
  for (const auto& [name, value] : forged) context->AddMetadata(name, value);
  trenode::v1::Dataset reply;
  EXPECT_EQ(node_.Catalogue()->GetDataset(context.get(), {}, &reply).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  node_.Restart();  // summaries are flushed at shutdown
  JsonClient after(node_);
  JsonReply entries = after.Stream("/trenode.v1.ActivityLog/GetEntries",
                                   R"({"action":"auth.deny.summary"})",
                                   node_.Token("audrey", {"auditor"}));
  ASSERT_EQ(entries.code, "ok") << entries.body;
  std::set<std::string> sources;
  for (const std::string& message : entries.messages) {
    trenode::v1::LogEntry entry;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(message, &entry).ok());
    absl::StatusOr<log::ActivityEvent> event = log::ParseLeaf(entry.leaf());
    ASSERT_TRUE(event.ok());
    sources.insert(event->object);
    EXPECT_TRUE(absl::StrContains(event->reason, "4 calls refused")) << event->reason;
  }
  EXPECT_EQ(sources, std::set<std::string>{"ipv4:127.0.0.1"});
}

TEST_F(JsonApiTest, NoCorsForOtherOrigins) {
  Register("hf-echo");
  std::string researcher = node_.Token("ada", {"researcher"});
  JsonReply preflight = json_.Raw("OPTIONS", kGetDataset, "", "",
                                  {{"Origin", "https://evil.example"},
                                   {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.http_status, 405);
  EXPECT_EQ(preflight.headers.count("Access-Control-Allow-Origin"), 0u);
  JsonReply cross = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher,
                               {{"Origin", "https://evil.example"}});
  EXPECT_EQ(cross.http_status, 403);
  EXPECT_EQ(cross.code, "permission_denied");
  EXPECT_EQ(cross.headers.count("Access-Control-Allow-Origin"), 0u);
  EXPECT_FALSE(absl::StrContains(cross.body, "Heart failure"));
  JsonReply null_origin = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher,
                                     {{"Origin", "null"}});
  EXPECT_EQ(null_origin.http_status, 403);
  JsonReply same = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher,
                              {{"Origin", absl::StrCat("https://127.0.0.1:", node_.web_port())}});
  EXPECT_EQ(same.http_status, 200) << same.body;
  EXPECT_EQ(same.headers.count("Access-Control-Allow-Origin"), 0u);
}

// A raw TLS connection to the JSON API; closed by the destructor.
class RawTls {
 public:
  // `max_version`: the newest TLS version to offer (0: any); a client
  // offering an older one than the server takes also offers TLS 1.0 up,
  // at security level 0, so that only the server can refuse it.
  explicit RawTls(int port, int max_version = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (max_version != 0) {
      SSL_CTX_set_security_level(ctx_, 0);
      SSL_CTX_set_min_proto_version(ctx_, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_, max_version);
    }
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    connected_ = connected_ && SSL_connect(ssl_) == 1;
  }
  ~RawTls() {
    SSL_free(ssl_);
    close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
  }
  // Reads until the server closes the connection or `limit` passes; true if
  // it closed.
  bool ClosedWithin(absl::Duration limit) {
    timeval timeout = absl::ToTimeval(limit);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    absl::Time end = absl::Now() + limit;
    char buffer[4096];
    while (absl::Now() < end) {
      errno = 0;
      int n = SSL_read(ssl_, buffer, sizeof(buffer));
      if (n > 0) continue;
      // A clean close, or an end without close_notify; not the receive
      // timeout, which is the connection still open.
      int error = SSL_get_error(ssl_, n);
      bool timed_out = error == SSL_ERROR_WANT_READ ||
                       (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
      return !timed_out;
    }
    return false;
  }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_;
  int fd_;
  bool connected_ = false;
};

TEST_F(JsonApiTest, TlsOlderThan12IsRefused) {
  EXPECT_FALSE(RawTls(node_.web_port(), TLS1_VERSION).connected());
  EXPECT_FALSE(RawTls(node_.web_port(), TLS1_1_VERSION).connected());
  EXPECT_TRUE(RawTls(node_.web_port(), TLS1_2_VERSION).connected());
  EXPECT_TRUE(RawTls(node_.web_port()).connected());
}

TEST_F(JsonApiTest, ConnectTimeoutMsMustBeDigitsAndIsHeldToTheNodesLimit) {
  Register("hf-echo");
  std::string researcher = node_.Token("ada", {"researcher"});
  for (const char* bad : {"abc", "-1", "1.5", "+5", "12345678901", "0x10"}) {
    JsonReply reply = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher,
                                 {{"Connect-Timeout-Ms", bad}});
    EXPECT_EQ(reply.http_status, 400) << bad;
    EXPECT_EQ(reply.code, "invalid_argument") << bad;
    EXPECT_TRUE(absl::StrContains(reply.message, "Connect-Timeout-Ms")) << reply.message;
  }
  JsonReply twice = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher,
                               {{"Connect-Timeout-Ms", "1000"}, {"Connect-Timeout-Ms", "2000"}});
  EXPECT_EQ(twice.code, "invalid_argument");
  // Ten digits (115 days) is well-formed: held to the node's limit, served.
  JsonReply longest = json_.Call(kGetDataset, R"({"id":"hf-echo"})", researcher,
                                 {{"Connect-Timeout-Ms", "9999999999"}});
  EXPECT_EQ(longest.http_status, 200) << longest.body;
  // A stream's malformed timeout ends the stream with the same error.
  JsonReply stream = json_.Stream("/trenode.v1.ActivityLog/WatchEntries", "{}",
                                  json_.TokenFor("auditor"), {{"Connect-Timeout-Ms", "soon"}});
  EXPECT_EQ(stream.code, "invalid_argument") << stream.message;
}

TEST(JsonApiDefaultsTest, ABodyOverOneMebibyteIsRefusedByDefault) {
  TestNode node([](trenode::v1::NodeConfig& config) { testing::ServeJson(config); });
  std::string researcher = node.Token("ada", {"researcher"});
  std::string body = absl::StrCat(R"({"id":")", std::string(1 << 20, 'a'), R"("})");
  JsonReply reply = JsonClient(node).Call(kGetDataset, body, researcher);
  EXPECT_EQ(reply.http_status, 413);
  EXPECT_TRUE(absl::StrContains(reply.message, "1048576 bytes")) << reply.message;
  JsonReply small = JsonClient(node).Call(kGetDataset, R"({"id":"none"})", researcher);
  EXPECT_EQ(small.code, "not_found");
}

TEST_F(JsonApiTest, TheConsoleIsServedByGetWithItsPolicy) {
  JsonReply index = json_.Raw("GET", "/", "", "", {});
  ASSERT_EQ(index.http_status, 200) << index.body;
  EXPECT_TRUE(absl::StartsWith(index.content_type, "text/html"));
  EXPECT_TRUE(absl::StrContains(index.body, "/console/app.js"));
  auto csp = index.headers.find("Content-Security-Policy");
  ASSERT_NE(csp, index.headers.end());
  EXPECT_TRUE(absl::StrContains(csp->second, "script-src 'self'")) << csp->second;
  EXPECT_EQ(index.headers.find("X-Frame-Options")->second, "DENY");
  EXPECT_EQ(index.headers.count("Set-Cookie"), 0u);
  JsonReply script = json_.Raw("GET", "/console/app.js", "", "", {});
  EXPECT_EQ(script.http_status, 200);
  EXPECT_TRUE(absl::StartsWith(script.content_type, "text/javascript"));
  EXPECT_EQ(json_.Raw("GET", "/console/nope.js", "", "", {}).http_status, 404);
  // Methods are still POST only, and the console takes no POST.
  EXPECT_EQ(json_.Raw("GET", kGetDataset, "", "", {}).http_status, 405);
  EXPECT_EQ(json_.Raw("POST", "/", "{}", "application/json", {}).http_status, 404);
}

TEST_F(JsonApiTest, SlowAndIdleConnectionsAreClosedAfterTheReadTimeout) {
  Register("hf-echo");
  // Half a request head, then nothing (slowloris).
  RawTls slow(node_.web_port());
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send("POST /trenode.v1.Catalogue/GetDataset HTTP/1.1\r\nHost: x\r\n"));
  // A head and half its body.
  RawTls stalled(node_.web_port());
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(stalled.Send(
      "POST /trenode.v1.Catalogue/GetDataset HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: 100\r\n\r\n{\"id\":"));
  // Connected, and silent.
  RawTls idle(node_.web_port());
  ASSERT_TRUE(idle.connected());
  // Meanwhile others are served.
  EXPECT_EQ(json_.Call(kGetDataset, R"({"id":"hf-echo"})", node_.Token("ada", {"researcher"}))
                .http_status,
            200);
  // read_timeout_seconds is 1; allow for a loaded machine.
  EXPECT_TRUE(slow.ClosedWithin(absl::Seconds(10)));
  EXPECT_TRUE(stalled.ClosedWithin(absl::Seconds(10)));
  EXPECT_TRUE(idle.ClosedWithin(absl::Seconds(10)));
}

TEST_F(JsonApiTest, AWatchStreamsUntilItsDeadlineAndEndsWithItsStatus) {
  std::string auditor = node_.Token("audrey", {"auditor"});
  JsonReply watched = json_.Stream("/trenode.v1.ActivityLog/WatchEntries", "{}", auditor,
                                   {{"Connect-Timeout-Ms", "1500"}});
  EXPECT_EQ(watched.http_status, 200);
  EXPECT_EQ(watched.code, "deadline_exceeded") << watched.body;
  ASSERT_FALSE(watched.messages.empty());  // at least the node.start entry
  trenode::v1::LogEntry first;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(watched.messages[0], &first).ok());
  EXPECT_EQ(log::ParseLeaf(first.leaf())->action, "node.start");
  // A researcher may not watch the whole log: refused in the end-of-stream message.
  JsonReply refused = json_.Stream("/trenode.v1.ActivityLog/WatchEntries", "{}",
                                   node_.Token("ada", {"researcher"}),
                                   {{"Connect-Timeout-Ms", "1500"}});
  EXPECT_EQ(refused.http_status, 200);
  EXPECT_EQ(refused.code, "permission_denied") << refused.body;
  EXPECT_TRUE(refused.messages.empty());
}

// Opens WatchEntries over a fresh connection and hangs up after its first
// bytes; true if they began a message (admitted), false if they began the
// end of the stream (refused).
bool WatchAndHangUp(const TestNode& node, const std::string& token) {
  httplib::SSLClient client("127.0.0.1", node.web_port());
  client.set_ca_cert_path(node.dir().File("pki/ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  httplib::Request request;
  request.method = "POST";
  request.path = "/trenode.v1.ActivityLog/WatchEntries";
  request.headers = {{"Authorization", "Bearer " + token},
                     {"Content-Type", "application/connect+json"}};
  request.body = web::Envelope("{}");
  std::string received;
  request.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    received.append(data, size);
    return received.size() < 5;
  };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  client.send(request, response, error);
  client.stop();
  return !received.empty() && received[0] == '\0';
}

// A caller holds at most 4 streams; a stream whose HTTP client went away
// gives its slot back, or no watch after the fourth would be admitted.
TEST_F(JsonApiTest, AClosedConnectionEndsItsStream) {
  std::string auditor = node_.Token("audrey", {"auditor"});
  for (int i = 0; i < 8; ++i) {
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    bool admitted = false;
    while (!(admitted = WatchAndHangUp(node_, auditor)) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_TRUE(admitted) << "watch " << i << " was never admitted";
  }
}

}  // namespace
}  // namespace trenode
