// The Analyses service on a real node over TLS: a synthetic site imported,
// a project approved, and analyses submitted, approved, run, refused,
// cancelled and watched, each checked against what the spec promises.
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "node/log/activity_event.h"
#include "node/storage/sqlite.h"
#include "node/synth/generator.h"
#include "tests/testutil/heart_failure.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/activity_log.grpc.pb.h"
#include "trenode/v1/analyses.grpc.pb.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode {
namespace {
using google::protobuf::util::TimeUtil;
using testing::TestNode;
using trenode::v1::Analysis;
using trenode::v1::AnalysisEvent;
using trenode::v1::SubmitAnalysisRequest;

constexpr char kProject[] = "hf-study";
constexpr char kDataset[] = "synth-ehr-4";

// The heart-failure question by age band and sex.
std::string HeartFailureQuery() {
  return absl::StrCat("dataset_id: \"synth-ehr-4\" index_date: \"2024-01-01\"",
                      testing::kUndiagnosedHeartFailureCohort,
                      "outputs { name: \"undiagnosed\" counts { group_by {", testing::kAgeBandGroup,
                      "} group_by { variable { column: \"sex\" } } } }");
}

class AnalysesRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    site_file_ = testing::ImportSyntheticSite(node_, {4, 1500});
    testing::ApproveProjectWithTrainedResearcher(node_, kProject, kDataset, "ada");
  }

  // Renews the project's approval, now with `preapproved` query kinds.
  void Approve(const std::vector<trenode::v1::OutputKind>& preapproved) {
    auto governance = trenode::v1::Governance::NewStub(node_.Channel());
    trenode::v1::ApproveProjectRequest approve;
    approve.set_project_id(kProject);
    approve.set_reference("REC 26/NW/0001");
    *approve.mutable_expires() = TimeUtil::GetCurrentTime() + TimeUtil::HoursToDuration(24 * 365);
    approve.add_dataset_ids(kDataset);
    for (auto kind : preapproved) approve.add_preapproved_query_kinds(kind);
    trenode::v1::Project project;
    grpc::Status status =
        governance->ApproveProject(As("sam", "data_steward").get(), approve, &project);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& subject, const std::string& role) {
    return testing::WithToken(node_.Token(subject, {role}));
  }

  static SubmitAnalysisRequest Request(const std::string& request_id,
                                       const std::string& query = HeartFailureQuery()) {
    SubmitAnalysisRequest request;
    request.set_project_id(kProject);
    request.set_request_id(request_id);
    request.set_purpose("Count undiagnosed heart failure by age band and sex.");
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(query, request.mutable_query()));
    return request;
  }

  grpc::Status Submit(const SubmitAnalysisRequest& request, Analysis* reply,
                      const std::string& who = "ada") {
    return stub_->SubmitAnalysis(As(who, "researcher").get(), request, reply);
  }

  Analysis Get(const std::string& id, const std::string& subject, const std::string& role) {
    Analysis analysis;
    trenode::v1::GetAnalysisRequest get;
    get.set_analysis_id(id);
    grpc::Status status = stub_->GetAnalysis(As(subject, role).get(), get, &analysis);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return analysis;
  }

  // Every event of the analysis up to its final state.
  std::vector<AnalysisEvent> WatchToEnd(const std::string& id, int64_t from = 0,
                                        const std::string& subject = "ada",
                                        const std::string& role = "researcher") {
    trenode::v1::WatchAnalysisRequest watch;
    watch.set_analysis_id(id);
    watch.set_from_sequence(from);
    auto context = As(subject, role);
    auto reader = stub_->WatchAnalysis(context.get(), watch);
    std::vector<AnalysisEvent> events;
    AnalysisEvent event;
    while (reader->Read(&event)) events.push_back(event);
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return events;
  }

  grpc::Status Decide(const std::string& method, const std::string& id, const std::string& subject,
                      const std::string& role, const std::string& reason, Analysis* reply) {
    trenode::v1::AnalysisDecisionRequest decision;
    decision.set_analysis_id(id);
    decision.set_reason(reason);
    auto context = As(subject, role);
    if (method == "approve") return stub_->ApproveAnalysis(context.get(), decision, reply);
    if (method == "reject") return stub_->RejectAnalysis(context.get(), decision, reply);
    return stub_->CancelAnalysis(context.get(), decision, reply);
  }

  // The true answer, by hand-written SQL over the dataset file.
  std::map<std::string, int64_t> HeartFailureTruth() {
    auto db = *storage::SqliteDb::Open(site_file_.string(), storage::SqliteDb::Mode::kReadOnly);
    auto select = *db->Prepare(R"sql(
      SELECT CASE WHEN 2024 - year_of_birth < 40 THEN '<40'
                  WHEN 2024 - year_of_birth >= 80 THEN '>=80'
                  ELSE '[' || ((2024 - year_of_birth) / 10 * 10) || ',' ||
                       ((2024 - year_of_birth) / 10 * 10 + 10) || ')' END, sex, COUNT(*)
      FROM person p
      WHERE person_id IN (SELECT person_id FROM measurement
                          WHERE measurement_code = '250908004' AND value_as_number < 40)
        AND person_id NOT IN (SELECT person_id FROM condition_occurrence
                              WHERE condition_code LIKE 'I50%')
      GROUP BY 1, 2)sql");
    std::map<std::string, int64_t> truth;
    while (*select.Step()) {
      truth[absl::StrCat(select.Text(0), "|", select.Text(1))] = select.Int64(2);
    }
    return truth;
  }

  TestNode node_;
  std::unique_ptr<trenode::v1::Analyses::Stub> stub_ =
      trenode::v1::Analyses::NewStub(node_.Channel());
  std::filesystem::path site_file_;
};

std::string States(const std::vector<AnalysisEvent>& events) {
  std::vector<std::string> names;
  for (const AnalysisEvent& event : events) {
    names.push_back(trenode::v1::AnalysisState_Name(event.state()).substr(15));
  }
  return absl::StrJoin(names, ",");
}

TEST_F(AnalysesRpcTest, ApprovedQueryRunsAndOnlyCheckersSeeItsEvidence) {
  Analysis submitted;
  ASSERT_TRUE(Submit(Request("hf-1"), &submitted).ok());
  EXPECT_EQ(submitted.state(), trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL);
  EXPECT_EQ(submitted.submitter(), "ada@test-node");
  EXPECT_EQ(absl::StrJoin(submitted.dataset_ids(), ","), kDataset);

  Analysis approved;
  ASSERT_TRUE(Decide("approve", submitted.id(), "sam", "data_steward", "", &approved).ok());
  EXPECT_EQ(approved.approved_by(), "sam@test-node");
  std::vector<AnalysisEvent> events = WatchToEnd(submitted.id());
  EXPECT_EQ(States(events), "SUBMITTED,AWAITING_APPROVAL,APPROVED,QUEUED,RUNNING,SUCCEEDED");
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].sequence(), i + 1);
  // Resuming from the middle gives the rest.
  EXPECT_EQ(States(WatchToEnd(submitted.id(), 5)), "RUNNING,SUCCEEDED");

  Analysis checked = Get(submitted.id(), "olu", "output_checker");
  ASSERT_EQ(checked.result().tables_size(), 1);
  std::map<std::string, int64_t> got;
  for (const auto& cell : checked.result().tables(0).cells()) {
    if (cell.count() > 0) got[absl::StrJoin(cell.group(), "|")] = cell.count();
    EXPECT_EQ(cell.evidence().contributors(), cell.count());
  }
  EXPECT_EQ(got, HeartFailureTruth());
  // Every age band by every recorded sex is listed, zeros included.
  EXPECT_EQ(checked.result().tables(0).cells_size(), 12);

  Analysis stewarded = Get(submitted.id(), "sam", "data_steward");
  ASSERT_EQ(stewarded.result().tables_size(), 1);
  EXPECT_FALSE(stewarded.result().tables(0).cells(0).has_evidence());

  Analysis researched = Get(submitted.id(), "ada", "researcher");
  EXPECT_EQ(researched.state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED);
  EXPECT_FALSE(researched.has_result());
  EXPECT_TRUE(researched.results_withheld());

  // Another researcher cannot see it at all.
  trenode::v1::GetAnalysisRequest get;
  get.set_analysis_id(submitted.id());
  Analysis hidden;
  EXPECT_EQ(stub_->GetAnalysis(As("eve", "researcher").get(), get, &hidden).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Every transition and the data access are in the activity log.
  auto log = trenode::v1::ActivityLog::NewStub(node_.Channel());
  trenode::v1::GetEntriesRequest entries;
  entries.set_action("analysis.");
  auto context = As("aud", "auditor");
  auto reader = log->GetEntries(context.get(), entries);
  trenode::v1::LogEntry entry;
  std::vector<std::string> actions;
  std::string access;
  while (reader->Read(&entry)) {
    auto event = log::ParseLeaf(entry.leaf());
    ASSERT_TRUE(event.ok());
    actions.push_back(event->action);
    if (event->action == "analysis.data_access") access = event->reason;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(absl::StrJoin(actions, ","),
            "analysis.submit,analysis.await_approval,analysis.approve,analysis.queue,"
            "analysis.start,analysis.data_access,analysis.succeed");
  EXPECT_EQ(access, "dataset synth-ehr-4 version 1 tables condition_occurrence,measurement,person");
}

TEST_F(AnalysesRpcTest, RequestIdMakesSubmissionIdempotent) {
  Analysis first, again, other;
  ASSERT_TRUE(Submit(Request("same"), &first).ok());
  ASSERT_TRUE(Submit(Request("same"), &again).ok());
  EXPECT_EQ(again.id(), first.id());
  SubmitAnalysisRequest changed = Request("same");
  changed.set_purpose("Something else");
  grpc::Status status = Submit(changed, &other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("request id \"same\" was already used for analysis ", first.id(),
                         " with a different body; choose a new request id"));
  trenode::v1::ListAnalysesResponse listed;
  ASSERT_TRUE(stub_->ListAnalyses(As("sam", "data_steward").get(), {}, &listed).ok());
  EXPECT_EQ(listed.analyses_size(), 1);
}

TEST_F(AnalysesRpcTest, GovernanceAndQueryRefusalsNameTheReasonAndStoreNothing) {
  Analysis reply;
  grpc::Status status = Submit(Request("x"), &reply, "eve");  // not a member
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "eve@test-node")) << status.error_message();

  SubmitAnalysisRequest unknown = Request("y", R"pb(
    dataset_id: "synth-ehr-4"
    outputs {
      name: "a"
      counts { group_by { variable { column: "postcode" } } }
    })pb");
  status = Submit(unknown, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "query.outputs[0].counts.group_by[0].variable.column: table person has no column "
            "\"postcode\"");

  SubmitAnalysisRequest identifiers = Request("z", R"pb(
    dataset_id: "synth-ehr-4"
    outputs {
      name: "a"
      counts { group_by { variable { column: "person_id" } } }
    })pb");
  status = Submit(identifiers, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "queries cannot use identifiers"));

  SubmitAnalysisRequest elsewhere = Request("w", R"pb(
    dataset_id: "no-such-data"
    outputs {
      name: "a"
      counts {}
    })pb");
  EXPECT_EQ(Submit(elsewhere, &reply).error_code(), grpc::StatusCode::NOT_FOUND);

  trenode::v1::ListAnalysesResponse listed;
  ASSERT_TRUE(stub_->ListAnalyses(As("sam", "data_steward").get(), {}, &listed).ok());
  EXPECT_EQ(listed.analyses_size(), 0);
}

TEST_F(AnalysesRpcTest, PreapprovedKindsRunWithoutReviewOthersWait) {
  Approve({trenode::v1::OUTPUT_KIND_COUNTS});
  Analysis counts;
  ASSERT_TRUE(Submit(Request("auto"), &counts).ok());
  EXPECT_EQ(counts.state(), trenode::v1::ANALYSIS_STATE_APPROVED);
  EXPECT_EQ(counts.approved_by(), "policy:project-preapproved-query-kinds");
  EXPECT_EQ(WatchToEnd(counts.id()).back().state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED);

  Analysis regression;
  ASSERT_TRUE(Submit(Request("manual", R"pb(
                       dataset_id: "synth-ehr-4"
                       outputs {
                         name: "r"
                         regression { outcome { column: "year_of_birth" } }
                       })pb"),
                     &regression)
                  .ok());
  EXPECT_EQ(regression.state(), trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL);
}

TEST_F(AnalysesRpcTest, CancelledAnalysisCannotBeApprovedAndRejectNeedsAReason) {
  Analysis submitted, reply;
  ASSERT_TRUE(Submit(Request("c"), &submitted).ok());
  EXPECT_EQ(Decide("cancel", submitted.id(), "eve", "researcher", "", &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status status = Decide("reject", submitted.id(), "sam", "data_steward", "", &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Decide("cancel", submitted.id(), "ada", "researcher", "wrong cohort", &reply).ok());
  EXPECT_EQ(reply.state(), trenode::v1::ANALYSIS_STATE_CANCELLED);
  status = Decide("approve", submitted.id(), "sam", "data_steward", "", &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("analysis ", submitted.id(), " is cancelled; it cannot approve"));
  EXPECT_EQ(States(WatchToEnd(submitted.id())), "SUBMITTED,AWAITING_APPROVAL,CANCELLED");
}

TEST_F(AnalysesRpcTest, StartGateRefusesWhenTheProjectWasSuspendedAfterSubmission) {
  Analysis submitted, reply;
  ASSERT_TRUE(Submit(Request("s"), &submitted).ok());
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  trenode::v1::ProjectDecisionRequest suspend;
  suspend.set_project_id(kProject);
  suspend.set_reason("ethics review");
  trenode::v1::Project project;
  ASSERT_TRUE(governance->SuspendProject(As("sam", "data_steward").get(), suspend, &project).ok());
  ASSERT_TRUE(Decide("approve", submitted.id(), "sam", "data_steward", "", &reply).ok());
  // Watched by a checker: the researcher of a suspended project may no longer
  // follow it, and their watch ends so if it starts before the start gate
  // has failed the analysis.
  std::vector<AnalysisEvent> events = WatchToEnd(submitted.id(), 0, "olu", "output_checker");
  EXPECT_EQ(States(events), "SUBMITTED,AWAITING_APPROVAL,APPROVED,FAILED");
  EXPECT_TRUE(absl::StartsWith(events.back().reason(), "refused at start: "))
      << events.back().reason();
  EXPECT_TRUE(absl::StrContains(events.back().reason(), "suspended")) << events.back().reason();
  EXPECT_FALSE(Get(submitted.id(), "olu", "output_checker").has_result());
}

// A cohort nested past protobuf's parse depth cannot reach the compiler:
// the caller is told so (INVALID_ARGUMENT), not INTERNAL with no message.
TEST_F(AnalysesRpcTest, ACohortNestedTooDeepIsAnInvalidArgument) {
  SubmitAnalysisRequest request = Request("deep");
  trenode::v1::Criterion* criterion = request.mutable_query()->mutable_cohort();
  for (int i = 0; i < 120; ++i) criterion = criterion->mutable_none_of();
  criterion->mutable_person()->mutable_variable()->set_column("sex");
  Analysis reply;
  grpc::Status status = Submit(request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "nested more than 100 deep"))
      << status.error_message();
}

// A retired dataset is invisible to researchers (spec/catalogue.md): a
// submission to it is NOT_FOUND, as for an id that never existed, and does
// not carry the steward's retirement reason.
TEST_F(AnalysesRpcTest, SubmittingToARetiredDatasetIsNotFoundWithoutTheReason) {
  trenode::v1::RetireDatasetRequest retire;
  retire.set_id(kDataset);
  retire.set_reason("withdrawn after a complaint from patient 4471");
  trenode::v1::Dataset dataset;
  ASSERT_TRUE(node_.Catalogue()->RetireDataset(As("sam", "data_steward").get(), retire, &dataset)
                  .ok());
  Analysis reply;
  grpc::Status status = Submit(Request("after-retirement"), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(status.error_message(), absl::StrCat("no dataset \"", kDataset, "\""));
}

}  // namespace
}  // namespace trenode
