// A change and its activity-log record are one unit (spec/activity-log.md,
// "Completeness"): for each domain, the log's append fails after the domain
// write (a trigger on the log's table, as a full disk would); the change
// stands, the caller is told its record is kept, and the node appends the
// record, exactly once, when it next starts. A change that fails records
// nothing.
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/log/activity_event.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/releases_fixture.h"
#include "trenode/v1/activity_log.grpc.pb.h"
#include "trenode/v1/catalogue.grpc.pb.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode {
namespace {
using testing::kDataset;
using testing::kProject;
using testing::WithToken;

constexpr char kKept[] = "the record is kept and is appended when the node next starts";

class ChangeRecordsTest : public testing::ReleasesFixture {
 protected:
  // From now on the log's append of any `action` event fails, and nothing
  // else does.
  void FailAppendsOf(const std::string& action) {
    auto db = storage::SqliteDb::Open(node_.config().database_path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(absl::StrCat(
                                "CREATE TRIGGER injected_fault BEFORE INSERT ON log_entries WHEN "
                                "instr(CAST(NEW.leaf AS TEXT), 'action ",
                                action, "' || char(10)) > 0 BEGIN SELECT RAISE(ABORT, "
                                "'injected fault: the disk is full'); END"))
                    .ok());
  }

  void Heal() {
    auto db = storage::SqliteDb::Open(node_.config().database_path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("DROP TRIGGER injected_fault").ok());
  }

  // The log's events of `action` on `object`.
  std::vector<log::ActivityEvent> Recorded(const std::string& action, const std::string& object) {
    auto stub = trenode::v1::ActivityLog::NewStub(node_.Channel());
    trenode::v1::GetEntriesRequest request;
    request.set_action(action);
    auto context = As("audrey", "auditor");
    auto reader = stub->GetEntries(context.get(), request);
    std::vector<log::ActivityEvent> found;
    trenode::v1::LogEntry entry;
    while (reader->Read(&entry)) {
      auto event = log::ParseLeaf(entry.leaf());
      EXPECT_TRUE(event.ok());
      if (event.ok() && event->object == object) found.push_back(*event);
    }
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return found;
  }

  // The reason of the node's latest node.start entry.
  std::string LastStart() {
    auto starts = Recorded("node.start", "node/test-node");
    return starts.empty() ? "" : starts.back().reason;
  }

  // Restarts the node and expects it to have appended `n` kept records.
  void RestartAppending(int n) {
    node_.Restart();
    EXPECT_NE(LastStart().find(absl::StrCat("appended the records of ", n, " changes")),
              std::string::npos)
        << LastStart();
  }

  static void ExpectKept(const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_NE(status.error_message().find(kKept), std::string::npos) << status.error_message();
  }
};

TEST_F(ChangeRecordsTest, Governance) {
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  trenode::v1::CreateProjectRequest create;
  create.mutable_project()->set_id("faulty");
  create.mutable_project()->set_title("T");
  create.mutable_project()->set_principal_investigator("ada@test-node");
  trenode::v1::Project project;
  FailAppendsOf("governance.project.create");
  ExpectKept(governance->CreateProject(As("sam", "data_steward").get(), create, &project));
  trenode::v1::GetProjectRequest get;
  get.set_project_id("faulty");
  EXPECT_TRUE(governance->GetProject(As("sam", "data_steward").get(), get, &project).ok());
  EXPECT_TRUE(Recorded("governance.project.create", "project/faulty").empty());
  Heal();
  // A change that fails (the id is taken) records nothing, now or later.
  EXPECT_EQ(governance->CreateProject(As("sam", "data_steward").get(), create, &project)
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  RestartAppending(1);
  auto recorded = Recorded("governance.project.create", "project/faulty");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].actor, "sam@test-node");
  EXPECT_EQ(recorded[0].role, "data_steward");
  EXPECT_EQ(recorded[0].outcome, "success");
  node_.Restart();  // appended once: nothing is left for the next start
  EXPECT_EQ(Recorded("governance.project.create", "project/faulty").size(), 1u);
  EXPECT_EQ(LastStart().find("appended the records"), std::string::npos);
}

TEST_F(ChangeRecordsTest, Catalogue) {
  auto catalogue = node_.Catalogue();
  trenode::v1::RetireDatasetRequest retire;
  retire.set_id(kDataset);
  retire.set_reason("superseded");
  trenode::v1::Dataset dataset;
  FailAppendsOf("catalogue.dataset.retire");
  ExpectKept(catalogue->RetireDataset(As("sam", "data_steward").get(), retire, &dataset));
  trenode::v1::GetDatasetRequest get;
  get.set_id(kDataset);
  ASSERT_TRUE(catalogue->GetDataset(As("sam", "data_steward").get(), get, &dataset).ok());
  EXPECT_EQ(dataset.state(), trenode::v1::DATASET_STATE_RETIRED);
  EXPECT_TRUE(Recorded("catalogue.dataset.retire", absl::StrCat("dataset/", kDataset)).empty());
  Heal();
  RestartAppending(1);
  auto recorded = Recorded("catalogue.dataset.retire", absl::StrCat("dataset/", kDataset));
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, "superseded");
}

TEST_F(ChangeRecordsTest, AnalysisSubmission) {
  FailAppendsOf("analysis.submit");
  trenode::v1::SubmitAnalysisRequest request;
  request.set_project_id(kProject);
  request.set_request_id("faulty-1");
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      absl::StrCat("dataset_id: \"", kDataset,
                   "\" outputs { name: \"n\" counts { group_by { variable { column: \"sex\" } } } "
                   "}"),
      request.mutable_query()));
  trenode::v1::Analysis analysis;
  ExpectKept(analyses_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis));
  Heal();
  // The submission stands and goes on: a retry with its request id finds it.
  ASSERT_TRUE(analyses_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis).ok());
  WaitForAnalysis(analysis.id());
  std::string object = absl::StrCat("analysis/", analysis.id());
  EXPECT_TRUE(Recorded("analysis.submit", object).empty());
  RestartAppending(1);
  auto recorded = Recorded("analysis.submit", object);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].request_id, "faulty-1");
  EXPECT_EQ(recorded[0].project, kProject);
}

// The node's own transitions: the runner's change of state is recorded too.
TEST_F(ChangeRecordsTest, TheNodesOwnTransitions) {
  FailAppendsOf("analysis.succeed");
  std::string id = CountsAnalysis("faulty-2");  // waits until the store says SUCCEEDED
  std::string object = absl::StrCat("analysis/", id);
  EXPECT_TRUE(Recorded("analysis.succeed", object).empty());
  Heal();
  RestartAppending(1);
  auto recorded = Recorded("analysis.succeed", object);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].actor, "node/test-node");
}

TEST_F(ChangeRecordsTest, Bundles) {
  auto upload = [&](trenode::v1::Bundle* bundle) {
    auto context = As("ada", "researcher");
    auto writer = analyses_->UploadBundle(context.get(), bundle);
    trenode::v1::UploadBundleRequest header;
    header.mutable_header()->set_project_id(kProject);
    writer->Write(header);
    trenode::v1::UploadBundleRequest chunk;
    chunk.set_chunk(testing::ScriptBundle("job.sh", "echo hi", {kDataset}, {"out.txt"}));
    writer->Write(chunk);
    writer->WritesDone();
    return writer->Finish();
  };
  trenode::v1::Bundle bundle;
  FailAppendsOf("analysis.bundle.upload");
  ExpectKept(upload(&bundle));
  Heal();
  ASSERT_TRUE(upload(&bundle).ok());  // stored already: answered from the store
  std::string object = absl::StrCat("bundle/", bundle.sha256());
  EXPECT_TRUE(Recorded("analysis.bundle.upload", object).empty());
  RestartAppending(1);
  auto recorded = Recorded("analysis.bundle.upload", object);
  ASSERT_EQ(recorded.size(), 1u);
  ASSERT_EQ(recorded[0].hashes.size(), 1u);
  EXPECT_EQ(recorded[0].hashes[0], absl::StrCat("sha256:", bundle.sha256()));
}

TEST_F(ChangeRecordsTest, Releases) {
  std::string analysis = CountsAnalysis("for-release");
  testing::Release release;
  FailAppendsOf("release.create");
  ExpectKept(Create(analysis, &release));
  Heal();
  trenode::v1::ListReleasesRequest list;
  trenode::v1::ListReleasesResponse listed;
  ASSERT_TRUE(releases_->ListReleases(As("ada", "researcher").get(), list, &listed).ok());
  ASSERT_EQ(listed.releases_size(), 1);
  std::string object = absl::StrCat("release/", listed.releases(0).id());
  EXPECT_TRUE(Recorded("release.create", object).empty());
  RestartAppending(1);
  EXPECT_EQ(Recorded("release.create", object).size(), 1u);
}

}  // namespace
}  // namespace trenode
