// The activity log's read side on a real node: paging a log past one call's
// reach, and refusals decided by the service recorded like any other.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/log/activity_event.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/activity_log.grpc.pb.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode {
namespace {
using testing::TestNode;

class ActivityLogRpcTest : public ::testing::Test {
 protected:
  // The entries GetEntries sends for `request`, as `role`.
  std::vector<trenode::v1::LogEntry> Entries(const trenode::v1::GetEntriesRequest& request,
                                             const std::string& subject, const std::string& role,
                                             grpc::Status* status) {
    auto context = testing::WithToken(node_.Token(subject, {role}));
    auto reader = log_->GetEntries(context.get(), request);
    std::vector<trenode::v1::LogEntry> entries;
    trenode::v1::LogEntry entry;
    while (reader->Read(&entry)) entries.push_back(entry);
    *status = reader->Finish();
    return entries;
  }

  TestNode node_;
  std::unique_ptr<trenode::v1::ActivityLog::Stub> log_ =
      trenode::v1::ActivityLog::NewStub(node_.Channel());
};

// With end left 0, a call reads as far as one call reaches and the client
// pages on; it used to fail outright once the log passed 10,000 entries.
TEST_F(ActivityLogRpcTest, DefaultEndPagesThroughALogPastOneCallsReach) {
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  auto steward = testing::WithToken(node_.Token("sam", {"data_steward"}));
  for (int i = 0; i < 5010; ++i) {  // two entries each: the admitted call and the change
    trenode::v1::CreateProjectRequest create;
    create.mutable_project()->set_id(absl::StrCat("p-", i));
    create.mutable_project()->set_title("T");
    create.mutable_project()->set_principal_investigator("ada@test-node");
    trenode::v1::Project project;
    auto context = testing::WithToken(node_.Token("sam", {"data_steward"}));
    ASSERT_TRUE(governance->CreateProject(context.get(), create, &project).ok());
  }
  grpc::Status status;
  trenode::v1::GetEntriesRequest request;
  std::vector<trenode::v1::LogEntry> first = Entries(request, "audrey", "auditor", &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(first.size(), 10000u);
  request.set_start(10000);
  std::vector<trenode::v1::LogEntry> rest = Entries(request, "audrey", "auditor", &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(rest.size(), 20u);
  EXPECT_EQ(rest.front().index(), 10000u);
  // A filtered read of the whole log is paged the same way.
  request.set_start(0);
  request.set_action("governance.project.create");
  std::vector<trenode::v1::LogEntry> created = Entries(request, "audrey", "auditor", &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(created.size(), 4900u);
}

// A researcher asking for events of no project, or of one not theirs, is
// refused, and the refusal is in the log like every other.
TEST_F(ActivityLogRpcTest, AResearchersRefusedReadIsRecorded) {
  grpc::Status status;
  trenode::v1::GetEntriesRequest request;
  Entries(request, "eve", "researcher", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  request.set_project("someone-elses");
  Entries(request, "eve", "researcher", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);  // no such project here
  trenode::v1::GetEntriesRequest all;
  all.set_action("auth.deny");
  int refusals = 0;
  for (const auto& entry : Entries(all, "audrey", "auditor", &status)) {
    auto event = log::ParseLeaf(entry.leaf());
    ASSERT_TRUE(event.ok());
    if (event->actor == "eve@test-node" && event->object == "/trenode.v1.ActivityLog/GetEntries") {
      ++refusals;
    }
  }
  EXPECT_EQ(refusals, 2);
}

}  // namespace
}  // namespace trenode
