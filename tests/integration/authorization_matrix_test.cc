// Every method of every trenode.v1 service, called as every role, as nobody,
// and as a member of another project, against the authorization table in
// spec/README.md. A method the table lacks fails this test; so does any
// difference between the table and what the node does.
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/testutil/test_node.h"
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

// Methods that stream replies until cancelled: called with a short deadline.
std::set<std::string> StreamingMethods() {
  std::set<std::string> streaming;
  for (const auto* file : ServiceFiles()) {
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        const auto* method = file->service(s)->method(m);
        if (method->server_streaming()) {
          streaming.insert(absl::StrCat("/", file->service(s)->full_name(), "/", method->name()));
        }
      }
    }
  }
  return streaming;
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

// Calls `method` with an empty request; the status is all that matters.
grpc::Status CallGeneric(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                         std::unique_ptr<grpc::ClientContext> context) {
  static const std::set<std::string> streaming = StreamingMethods();
  if (streaming.contains(method)) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  }
  grpc::GenericStub stub(channel);
  // Zero bytes: the default instance of any request message.
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

// True if the gate let the call through: the domain may still refuse the
// (empty) request, but never with the gate's own refusal.
bool PassedTheGate(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) return false;
  return !(status.error_code() == grpc::StatusCode::PERMISSION_DENIED &&
           absl::StrContains(status.error_message(), " may not call "));
}

TEST(AuthorizationMatrixTest, EveryMethodAsEveryRoleMatchesTheSpec) {
  auto table = SpecTable();
  ASSERT_FALSE(table.empty()) << "no authorization table found in spec/README.md";
  TestNode node([](trenode::v1::NodeConfig& config) { testing::AddPartner(config, "peer-x"); });
  auto peer_cert = *pki::Issue(node.ca(), pki::NodeCertificateRequest("peer-x", pki::ValidFor(1)));
  auto peer_channel = node.Channel(&peer_cert);
  auto people_channel = node.Channel();
  for (const std::string& method : ServiceMethods()) {
    ASSERT_TRUE(table.contains(method)) << method << " is missing from spec/README.md's table";
    for (const std::string& role : kRoles) {
      grpc::Status status = role == "peer_node"
                                ? CallGeneric(peer_channel, method, node.As(""))
                                : CallGeneric(people_channel, method, node.As(role));
      EXPECT_EQ(PassedTheGate(status), table[method][role])
          << method << " as " << role << ": " << status.error_code() << " "
          << status.error_message();
    }
    grpc::Status anonymous = CallGeneric(people_channel, method, node.As(""));
    EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
  }
  // The table names no method the node lacks.
  for (const auto& [method, roles] : table) {
    std::vector<std::string> methods = ServiceMethods();
    EXPECT_NE(std::find(methods.begin(), methods.end(), method), methods.end())
        << method << " is in the spec but not served";
  }
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
  trenode::v1::ListProjectsResponse listed;
  ASSERT_TRUE(governance->ListProjects(bob().get(), {}, &listed).ok());
  ASSERT_EQ(listed.projects_size(), 1);
  EXPECT_EQ(listed.projects(0).id(), "project-b");
}

}  // namespace
}  // namespace trenode
