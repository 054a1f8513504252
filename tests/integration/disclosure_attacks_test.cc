// A hostile researcher against a real node: each test is one way of getting
// small counts or a single person's data out without a human review
// (issue 11), and shows the node no longer gives it away.
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "node/log/activity_event.h"
#include "tests/testutil/releases_fixture.h"
#include "trenode/v1/activity_log.grpc.pb.h"

namespace trenode {
namespace {
using testing::kDataset;
using testing::kProject;
using trenode::v1::Release;

class DisclosureAttacksTest : public testing::ReleasesFixture {
 protected:
  // A context for `subject` whose token grants several roles, acting in `role`.
  std::unique_ptr<grpc::ClientContext> ActingAs(const std::string& subject,
                                                const std::vector<std::string>& roles,
                                                const std::string& role) {
    auto context = testing::WithToken(node_.Token(subject, roles));
    context->AddMetadata("x-trenode-role", role);
    return context;
  }

  // Every leaf of the project's log that a researcher of it can read.
  std::vector<std::string> ProjectLogAsResearcher() {
    auto log = trenode::v1::ActivityLog::NewStub(node_.Channel());
    trenode::v1::GetEntriesRequest request;
    request.set_project(kProject);
    auto context = As("ada", "researcher");
    auto reader = log->GetEntries(context.get(), request);
    std::vector<std::string> leaves;
    trenode::v1::LogEntry entry;
    while (reader->Read(&entry)) leaves.push_back(entry.leaf());
    EXPECT_TRUE(reader->Finish().ok());
    return leaves;
  }

  grpc::Status DecideProject(bool suspend) {
    auto governance = trenode::v1::Governance::NewStub(node_.Channel());
    trenode::v1::ProjectDecisionRequest request;
    request.set_project_id(kProject);
    request.set_reason("ethics review");
    trenode::v1::Project project;
    auto context = As("sam", "data_steward");
    return suspend ? governance->SuspendProject(context.get(), request, &project)
                   : governance->ResumeProject(context.get(), request, &project);
  }
};

// Before any review, the requester learns file-level verdicts in words: no
// cell coordinates, labels or rule counts, and no size or hash of a file
// nobody has released (a hash of a short file gives its contents away).
TEST_F(DisclosureAttacksTest, DraftMetadataShowsTheRequesterNoCells) {
  Release draft;
  ASSERT_TRUE(Create(CountsAnalysis("meta"), &draft).ok());
  ASSERT_EQ(draft.files_size(), 1);
  for (const Release& seen : {draft, ViewAs(draft.id(), "ada", "researcher")}) {
    EXPECT_EQ(seen.results_json(), "");
    EXPECT_EQ(seen.files(0).verdict_summary(), "passes the disclosure rules");
    EXPECT_EQ(seen.files(0).size(), 0);
    EXPECT_EQ(seen.files(0).sha256(), "");
  }
  // Output checkers see the cells each rule failed.
  Release checked = ViewAs(draft.id());
  EXPECT_TRUE(absl::StrContains(checked.results_json(), "\"threshold\": [[")) << checked.results_json();
  EXPECT_GT(checked.files(0).size(), 0);

  Release submitted, reply;
  ASSERT_TRUE(Submit(draft.id(), &submitted).ok());
  ASSERT_TRUE(Review(ViewAs(draft.id()), "olu", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_TRUE(Review(ViewAs(draft.id()), "kim", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED);
  // Once released, the requester has the file and a file-level results.json.
  Release released = ViewAs(draft.id(), "ada", "researcher");
  EXPECT_EQ(released.files(0).sha256(), reply.files(0).sha256());
  EXPECT_TRUE(absl::StrContains(released.results_json(), "\"name\": \"hf_by_age_sex.csv\""));
  EXPECT_FALSE(absl::StrContains(released.results_json(), "\"sdc\""));
  EXPECT_FALSE(absl::StrContains(released.results_json(), "threshold"));
}

// One person holding several roles gets no more than the role that made
// them the requester: no unreleased results, no reviewing or reading review
// copies of their own release, no approving their own project.
TEST_F(DisclosureAttacksTest, OnePersonTwoRolesGetsNothingMore) {
  const std::vector<std::string> roles = {"researcher", "output_checker", "data_steward"};
  std::string analysis_id = CountsAnalysis("two-roles");
  trenode::v1::GetAnalysisRequest get;
  get.set_analysis_id(analysis_id);
  for (const std::string& role : {"output_checker", "data_steward"}) {
    trenode::v1::Analysis seen;
    ASSERT_TRUE(analyses_->GetAnalysis(ActingAs("ada", roles, role).get(), get, &seen).ok());
    EXPECT_FALSE(seen.has_result()) << role;
    EXPECT_TRUE(seen.results_withheld()) << role;
  }
  // An output checker who is not involved sees the results.
  trenode::v1::Analysis checker_view;
  ASSERT_TRUE(analyses_->GetAnalysis(As("olu", "output_checker").get(), get, &checker_view).ok());
  EXPECT_TRUE(checker_view.has_result());

  Release draft, submitted, reply;
  ASSERT_TRUE(Create(analysis_id, &draft).ok());
  // Nobody reads a draft's review copies; it was never submitted.
  std::string bytes;
  EXPECT_EQ(Download(ViewAs(draft.id()), "olu", "output_checker", &bytes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Submit(draft.id(), &submitted).ok());
  Release as_checker;
  trenode::v1::ReleaseIdRequest id;
  id.set_release_id(draft.id());
  ASSERT_TRUE(
      releases_->GetRelease(ActingAs("ada", roles, "output_checker").get(), id, &as_checker).ok());
  EXPECT_EQ(as_checker.results_json(), "");
  EXPECT_EQ(as_checker.files(0).verdict_summary(), "passes the disclosure rules");

  trenode::v1::DownloadFileRequest download;
  download.set_release_id(draft.id());
  download.set_file(submitted.files(0).name());
  auto context = ActingAs("ada", roles, "output_checker");
  auto reader = releases_->DownloadFile(context.get(), download);
  trenode::v1::DownloadChunk chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  trenode::v1::ReviewReleaseRequest review;
  review.set_release_id(draft.id());
  auto* decision = review.add_files();
  decision->set_file(submitted.files(0).name());
  decision->set_decision(trenode::v1::FILE_DECISION_APPROVE);
  EXPECT_EQ(
      releases_->ReviewRelease(ActingAs("ada", roles, "output_checker").get(), review, &reply)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  // A steward who names themself PI cannot approve the project, nor so
  // approve their own membership.
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  trenode::v1::CreateProjectRequest create;
  create.mutable_project()->set_id("self-approved");
  create.mutable_project()->set_title("Mine");
  create.mutable_project()->set_lay_summary("Why.");
  create.mutable_project()->set_principal_investigator("sam@test-node");
  trenode::v1::Project project;
  ASSERT_TRUE(governance->CreateProject(As("sam", "data_steward").get(), create, &project).ok());
  trenode::v1::ApproveProjectRequest approve = Reapproval();
  approve.set_project_id("self-approved");
  grpc::Status refused =
      governance->ApproveProject(As("sam", "data_steward").get(), approve, &project);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(),
            "sam@test-node is the principal investigator of project \"self-approved\" and may "
            "not approve it");
  EXPECT_TRUE(governance->ApproveProject(As("tom", "data_steward").get(), approve, &project).ok());
  // Nor may a steward approve analyses of a project they belong to.
  trenode::v1::AnalysisDecisionRequest approve_analysis;
  approve_analysis.set_analysis_id(analysis_id);
  trenode::v1::Analysis analysis;
  EXPECT_EQ(analyses_
                ->ApproveAnalysis(ActingAs("ada", roles, "data_steward").get(), approve_analysis,
                                  &analysis)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// A suspended project's releases stop at every step, and a researcher's
// stream on its analysis ends; resuming lets them go on.
TEST_F(DisclosureAttacksTest, SuspensionStopsEveryReleaseStepAndOpenStreams) {
  std::string first = CountsAnalysis("before");
  std::string second = CountsAnalysis("before-2");
  std::string third = CountsAnalysis("before-3");
  Release draft, submitted, reply, other;
  ASSERT_TRUE(Create(first, &draft).ok());
  ASSERT_TRUE(Create(second, &other).ok());
  ASSERT_TRUE(Submit(other.id(), &submitted).ok());

  // A researcher follows an analysis that waits for a steward.
  trenode::v1::SubmitAnalysisRequest waiting;
  waiting.set_project_id(kProject);
  waiting.set_request_id("summary-waits");
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(dataset_id: "synth-ehr-4"
           outputs { name: "yob" summary { value { column: "year_of_birth" } } })pb",
      waiting.mutable_query()));
  trenode::v1::Analysis pending;
  ASSERT_TRUE(analyses_->SubmitAnalysis(As("ada", "researcher").get(), waiting, &pending).ok());
  ASSERT_EQ(pending.state(), trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL);
  absl::Notification stream_ended;
  grpc::Status stream_status;
  std::thread watcher([&] {
    trenode::v1::WatchAnalysisRequest watch;
    watch.set_analysis_id(pending.id());
    auto context = As("ada", "researcher");
    auto reader = analyses_->WatchAnalysis(context.get(), watch);
    trenode::v1::AnalysisEvent event;
    while (reader->Read(&event)) {
    }
    stream_status = reader->Finish();
    stream_ended.Notify();
  });

  ASSERT_TRUE(DecideProject(/*suspend=*/true).ok());
  EXPECT_TRUE(stream_ended.WaitForNotificationWithTimeout(absl::Seconds(10)));
  watcher.join();
  EXPECT_EQ(stream_status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(stream_status.error_message(), "suspended"))
      << stream_status.error_message();

  EXPECT_EQ(Create(third, &reply).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::Status refused = Submit(draft.id(), &reply);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "suspended")) << refused.error_message();
  EXPECT_EQ(Review(ViewAs(other.id()), "olu", trenode::v1::FILE_DECISION_APPROVE, &reply)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  ASSERT_TRUE(DecideProject(/*suspend=*/false).ok());
  ASSERT_TRUE(Review(ViewAs(other.id()), "olu", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_TRUE(Review(ViewAs(other.id()), "kim", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED);
  std::string bytes;
  ASSERT_TRUE(Download(reply, "ada", "researcher", &bytes).ok());
  ASSERT_TRUE(DecideProject(/*suspend=*/true).ok());
  EXPECT_EQ(Download(reply, "ada", "researcher", &bytes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// What a researcher learns of a failure is the node's fixed sentence: a job
// cannot signal through a file name or its exit status, in the analysis or
// in the project's activity log.
TEST_F(DisclosureAttacksTest, FailReasonsCarryNoJobChosenBytes) {
  std::string named = ScriptAnalysis("echo x > /job/outbox/o.csv; echo x > /job/outbox/count-is-17",
                                     {"o.csv"}, trenode::v1::ANALYSIS_STATE_FAILED);
  std::string exited =
      ScriptAnalysis("exit 17", {"o.csv"}, trenode::v1::ANALYSIS_STATE_FAILED);
  trenode::v1::GetAnalysisRequest get;
  trenode::v1::Analysis seen;
  get.set_analysis_id(named);
  ASSERT_TRUE(analyses_->GetAnalysis(As("ada", "researcher").get(), get, &seen).ok());
  EXPECT_EQ(seen.state_reason(),
            "the job's outbox did not hold exactly the outputs its manifest declares");
  EXPECT_EQ(seen.failure_detail(), "");
  get.set_analysis_id(exited);
  ASSERT_TRUE(analyses_->GetAnalysis(As("ada", "researcher").get(), get, &seen).ok());
  EXPECT_EQ(seen.state_reason(), "the job exited with an error");
  // The node's staff have the details.
  ASSERT_TRUE(analyses_->GetAnalysis(As("sam", "data_steward").get(), get, &seen).ok());
  EXPECT_EQ(seen.failure_detail(), "exited with status 17");
  for (const std::string& leaf : ProjectLogAsResearcher()) {
    EXPECT_FALSE(absl::StrContains(leaf, "count-is-17")) << leaf;
    EXPECT_FALSE(absl::StrContains(leaf, "status 17")) << leaf;
  }
}

// Long lists of codes compile to shallow SQL: a cohort of 1,000 prefixes
// runs (it failed while running with "expression tree is too large").
TEST_F(DisclosureAttacksTest, ManyCodePrefixesRun) {
  std::string prefixes;
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&prefixes, i ? ", " : "", "\"Z", i, "\"");
  trenode::v1::SubmitAnalysisRequest request;
  request.set_project_id(kProject);
  request.set_request_id("prefixes");
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      absl::StrCat(R"pb(dataset_id: "synth-ehr-4"
                        cohort { events { filter { table: "condition_occurrence"
                                                   code_column: "condition_code"
                                                   code_prefixes: [)pb",
                   prefixes, R"pb(] } } }
                        outputs { name: "n" counts {} })pb"),
      request.mutable_query()));
  trenode::v1::Analysis analysis;
  ASSERT_TRUE(analyses_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis).ok());
  WaitForAnalysis(analysis.id());
}

}  // namespace
}  // namespace trenode
