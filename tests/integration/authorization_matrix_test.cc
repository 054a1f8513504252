// Every method of every trenode.v1 service, called as every role, as nobody,
// and as a member of another project, against the authorization table in
// spec/README.md, over gRPC and over the JSON API (spec/json-api.md). A
// method the table lacks fails this test; so does any difference between the
// table and what the node does, or between the two transports.
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "node/rpc/connect_status.h"
#include "tests/testutil/json_client.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/federation.grpc.pb.h"
#include "trenode/v1/activity_log.pb.h"
#include "trenode/v1/analyses.pb.h"
#include "trenode/v1/governance.grpc.pb.h"
#include "trenode/v1/federation.pb.h"
#include "trenode/v1/releases.pb.h"

namespace trenode {
namespace {
using testing::TestNode;

const std::vector<std::string> kRoles = {"researcher", "data_steward", "output_checker",
                                         "auditor",    "node_admin",   "peer_node"};

// method -> role -> allowed, parsed from the spec's Markdown table.
std::map<std::string, std::map<std::string, bool>> SpecTable() {
  std::ifstream in(std::string(TRENODE_SOURCE_DIR) + "/spec/README.md");
  std::string line;
  std::map<std::string, std::map<std::string, bool>> table;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "| `/trenode.v1.")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    // "", method, six roles, ""
    if (cells.size() != kRoles.size() + 3) continue;
    std::string method(absl::StripAsciiWhitespace(cells[1]));
    method = std::string(absl::StripSuffix(absl::StripPrefix(method, "`"), "`"));
    for (size_t r = 0; r < kRoles.size(); ++r) {
      table[method][kRoles[r]] = absl::StripAsciiWhitespace(cells[r + 2]) == "✓";
    }
  }
  return table;
}

// The proto files that define trenode.v1's services.
std::vector<const google::protobuf::FileDescriptor*> ServiceFiles() {
  return {trenode::v1::Dataset::descriptor()->file(), trenode::v1::Project::descriptor()->file(),
          trenode::v1::LogEntry::descriptor()->file(), trenode::v1::Analysis::descriptor()->file(),
          trenode::v1::Release::descriptor()->file(), trenode::v1::NodeInfo::descriptor()->file()};
}

// The methods whose requests stream: gRPC only (the JSON API refuses them).
std::set<std::string> MethodsWhere(bool (*test)(const google::protobuf::MethodDescriptor&)) {
  std::set<std::string> found;
  for (const auto* file : ServiceFiles()) {
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        const auto* method = file->service(s)->method(m);
        if (test(*method)) {
          found.insert(absl::StrCat("/", file->service(s)->full_name(), "/", method->name()));
        }
      }
    }
  }
  return found;
}

// Methods that stream replies until cancelled: called with a short deadline.
const std::set<std::string>& StreamingMethods() {
  static const auto* streaming = new std::set<std::string>(MethodsWhere(
      [](const google::protobuf::MethodDescriptor& m) { return m.server_streaming(); }));
  return *streaming;
}
const std::set<std::string>& RequestStreamingMethods() {
  static const auto* streaming = new std::set<std::string>(MethodsWhere(
      [](const google::protobuf::MethodDescriptor& m) { return m.client_streaming(); }));
  return *streaming;
}

std::vector<std::string> ServiceMethods() {
  std::vector<std::string> methods;
  for (const auto* file : ServiceFiles()) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods.push_back(absl::StrCat("/", service->full_name(), "/", service->method(m)->name()));
      }
    }
  }
  return methods;
}

// How a call ended, in the Connect protocol's code names on both transports.
struct Outcome {
  std::string code;
  std::string message;
};

// Calls `method` over gRPC with an empty request.
Outcome CallOverGrpc(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     std::unique_ptr<grpc::ClientContext> context) {
  grpc::GenericStub stub(channel);
  if (StreamingMethods().contains(method)) {
    // Read every reply until the stream ends, or its short deadline.
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::CompletionQueue queue;
    auto call = stub.PrepareCall(context.get(), method, &queue);
    void* tag;
    bool ok = false;
    call->StartCall(&queue);
    queue.Next(&tag, &ok);
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    if (ok) {
      call->WriteLast(request, grpc::WriteOptions(), &queue);
      queue.Next(&tag, &ok);
    }
    grpc::ByteBuffer reply;
    while (ok) {
      call->Read(&reply, &queue);
      queue.Next(&tag, &ok);
    }
    grpc::Status status;
    call->Finish(&status, &queue);
    queue.Next(&tag, &ok);
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
    return {std::string(rpc::ConnectCodeName(status.error_code())), status.error_message()};
  }
  // Zero bytes: the default instance of any request message.
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  return {std::string(rpc::ConnectCodeName(status.error_code())), status.error_message()};
}

// Calls `method` over the JSON API with an empty request ({}).
Outcome CallOverJson(testing::JsonClient& client, const std::string& method,
                     const std::string& token) {
  testing::JsonReply reply =
      StreamingMethods().contains(method)
          ? client.Stream(method, "{}", token, {{"Connect-Timeout-Ms", "500"}})
          : client.Call(method, "{}", token);
  return {reply.code.empty() ? absl::StrCat("http ", reply.http_status) : reply.code,
          reply.message};
}

// True if the gate let the call through: the domain may still refuse the
// (empty) request, but never with the gate's own refusal.
bool PassedTheGate(const Outcome& outcome) {
  if (outcome.code == "unauthenticated") return false;
  return !(outcome.code == "permission_denied" &&
           absl::StrContains(outcome.message, " may not call "));
}

// Over gRPC and over the JSON API alike: every person's call is admitted or
// refused as the table says, and ends with the same code on both. Partners
// are served over gRPC only: their certificates name nobody over HTTPS.
TEST(AuthorizationMatrixTest, EveryMethodAsEveryRoleMatchesTheSpecOverBothTransports) {
  auto table = SpecTable();
  ASSERT_FALSE(table.empty()) << "no authorization table found in spec/README.md";
  TestNode node([](trenode::v1::NodeConfig& config) {
    testing::AddPartner(config, "peer-x");
    testing::ServeJson(config);
  });
  auto peer_cert = *pki::Issue(node.ca(), pki::NodeCertificateRequest("peer-x", pki::ValidFor(1)));
  auto peer_channel = node.Channel(&peer_cert);
  auto people_channel = node.Channel();
  testing::JsonClient json(node);
  int json_calls = 0;
  for (const std::string& method : ServiceMethods()) {
    ASSERT_TRUE(table.contains(method)) << method << " is missing from spec/README.md's table";
    const bool over_json = !RequestStreamingMethods().contains(method);
    for (const std::string& role : kRoles) {
      Outcome grpc_outcome = role == "peer_node"
                                 ? CallOverGrpc(peer_channel, method, node.As(""))
                                 : CallOverGrpc(people_channel, method, node.As(role));
      EXPECT_EQ(PassedTheGate(grpc_outcome), table[method][role])
          << "gRPC " << method << " as " << role << ": " << grpc_outcome.code << " "
          << grpc_outcome.message;
      if (!over_json || role == "peer_node") continue;
      Outcome json_outcome = CallOverJson(json, method, json.TokenFor(role));
      ++json_calls;
      EXPECT_EQ(PassedTheGate(json_outcome), table[method][role])
          << "JSON " << method << " as " << role << ": " << json_outcome.code << " "
          << json_outcome.message;
      EXPECT_EQ(json_outcome.code, grpc_outcome.code)
          << method << " as " << role << ": JSON says " << json_outcome.message << "; gRPC says "
          << grpc_outcome.message;
    }
    Outcome anonymous = CallOverGrpc(people_channel, method, node.As(""));
    EXPECT_EQ(anonymous.code, "unauthenticated") << method;
    if (over_json) {
      Outcome json_anonymous = CallOverJson(json, method, "");
      EXPECT_EQ(json_anonymous.code, "unauthenticated") << method;
      EXPECT_EQ(json_anonymous.message, anonymous.message) << method;
    } else {
      testing::JsonReply refused = json.Call(method, "{}", json.TokenFor("data_steward"));
      EXPECT_EQ(refused.http_status, 404) << method;
      EXPECT_EQ(refused.code, "unimplemented") << method;
    }
  }
  EXPECT_GT(json_calls, 200);
  // The table names no method the node lacks.
  for (const auto& [method, roles] : table) {
    std::vector<std::string> methods = ServiceMethods();
    EXPECT_NE(std::find(methods.begin(), methods.end(), method), methods.end())
        << method << " is in the spec but not served";
  }
}

// A partner's client certificate is not asked for over HTTPS, so it names
// nobody there: every method, even the partners-only ones, is refused as
// unauthenticated (the in-process path is never a trusted certificate).
TEST(AuthorizationMatrixTest, APartnersCertificateNamesNobodyOverJson) {
  TestNode node([](trenode::v1::NodeConfig& config) {
    testing::AddPartner(config, "peer-x");
    testing::ServeJson(config);
  });
  auto peer_cert = *pki::Issue(node.ca(), pki::NodeCertificateRequest("peer-x", pki::ValidFor(1)));
  testing::WriteFile(node.dir().path() / "peer/peer.pem", peer_cert.certificate_pem);
  testing::WriteFile(node.dir().path() / "peer/peer.key", peer_cert.key_pem);
  httplib::SSLClient client("127.0.0.1", node.web_port(), node.dir().File("peer/peer.pem"),
                            node.dir().File("peer/peer.key"));
  client.set_ca_cert_path(node.dir().File("pki/ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  int refused = 0;
  for (const std::string& method : ServiceMethods()) {
    if (RequestStreamingMethods().contains(method) || StreamingMethods().contains(method)) continue;
    httplib::Result result = client.Post(method.c_str(), "{}", "application/json");
    ASSERT_TRUE(result) << method;
    EXPECT_EQ(result->status, 401) << method << ": " << result->body;
    EXPECT_TRUE(absl::StrContains(result->body, R"("code":"unauthenticated")")) << result->body;
    ++refused;
  }
  EXPECT_GT(refused, 40);
  // The same certificate over gRPC is the partner it names.
  auto federation = trenode::v1::Federation::NewStub(node.Channel(&peer_cert));
  grpc::ClientContext context;
  trenode::v1::NodeInfo info;
  EXPECT_TRUE(federation->GetNodeInfo(&context, {}, &info).ok());
}

TEST(AuthorizationMatrixTest, AMemberOfAnotherProjectGetsNothingOfThisOne) {
  TestNode node;
  auto governance = trenode::v1::Governance::NewStub(node.Channel());
  auto create = [&](const std::string& role, const std::string& subject, const std::string& id) {
    trenode::v1::CreateProjectRequest request;
    request.mutable_project()->set_id(id);
    request.mutable_project()->set_title(id);
    request.mutable_project()->set_lay_summary("A study.");
    trenode::v1::Project reply;
    return governance->CreateProject(testing::WithToken(node.Token(subject, {role})).get(), request,
                                     &reply);
  };
  ASSERT_TRUE(create("researcher", "ada", "project-a").ok());
  ASSERT_TRUE(create("researcher", "bob", "project-b").ok());
  auto bob = [&] { return testing::WithToken(node.Token("bob", {"researcher"})); };

  trenode::v1::Project project;
  trenode::v1::GetProjectRequest get;
  get.set_project_id("project-a");
  EXPECT_EQ(governance->GetProject(bob().get(), get, &project).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  trenode::v1::ListMembersRequest members;
  members.set_project_id("project-a");
  trenode::v1::ListMembersResponse member_list;
  EXPECT_EQ(governance->ListMembers(bob().get(), members, &member_list).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  trenode::v1::ProposeMemberRequest propose;
  propose.set_project_id("project-a");
  propose.set_person("bob@test-node");
  trenode::v1::Membership membership;
  EXPECT_EQ(governance->ProposeMember(bob().get(), propose, &membership).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  trenode::v1::CheckAccessRequest check;
  check.set_project_id("project-a");
  check.set_person("ada@test-node");
  trenode::v1::AccessDecision decision;
  EXPECT_EQ(governance->CheckAccess(bob().get(), check, &decision).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Bob's own access to project A is refused, with the reason.
  check.clear_person();
  ASSERT_TRUE(governance->CheckAccess(bob().get(), check, &decision).ok());
  EXPECT_FALSE(decision.allowed());
  EXPECT_EQ(decision.reason(),
            "project \"project-a\" is not approved at this node (it is proposed)");
  // Nor its budget or usage statement (spec/charging.md).
  trenode::v1::GetBudgetRequest budget_request;
  budget_request.set_project_id("project-a");
  trenode::v1::Budget budget;
  EXPECT_EQ(governance->GetBudget(bob().get(), budget_request, &budget).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  trenode::v1::GetProjectUsageRequest usage_request;
  usage_request.set_project_id("project-a");
  trenode::v1::ProjectUsage usage;
  EXPECT_EQ(governance->GetProjectUsage(bob().get(), usage_request, &usage).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Ada's own project: she sees both.
  auto ada = [&] { return testing::WithToken(node.Token("ada", {"researcher"})); };
  EXPECT_TRUE(governance->GetBudget(ada().get(), budget_request, &budget).ok());
  EXPECT_TRUE(governance->GetProjectUsage(ada().get(), usage_request, &usage).ok());
  trenode::v1::ListProjectsResponse listed;
  ASSERT_TRUE(governance->ListProjects(bob().get(), {}, &listed).ok());
  ASSERT_EQ(listed.projects_size(), 1);
  EXPECT_EQ(listed.projects(0).id(), "project-b");
}

}  // namespace
}  // namespace trenode
