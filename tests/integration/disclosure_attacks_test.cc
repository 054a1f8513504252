// A hostile researcher against a real node: each test is one way of getting
// small counts or a single person's data out without a human review
// (issue 11), and shows the node no longer gives it away.
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

constexpr char kHeartFailure[] =
    R"pb(cohort { events { filter { table: "condition_occurrence" code_column: "condition_code"
                                    code_prefixes: "I50" } } })pb";

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

  // A project policy for the test project: counts, crosstabs and
  // regressions pre-approved, released automatically under `policy`.
  void AutoRelease(const std::string& policy = "acro") {
    auto governance = trenode::v1::Governance::NewStub(node_.Channel());
    trenode::v1::ApproveProjectRequest approve = Reapproval();
    approve.add_preapproved_query_kinds(trenode::v1::OUTPUT_KIND_CROSSTAB);
    approve.add_preapproved_query_kinds(trenode::v1::OUTPUT_KIND_REGRESSION);
    approve.add_preapproved_query_kinds(trenode::v1::OUTPUT_KIND_SUMMARY);
    approve.set_auto_release_owner("olu@test-node");
    approve.set_disclosure_policy(policy);
    trenode::v1::Project project;
    grpc::Status status =
        governance->ApproveProject(As("sam", "data_steward").get(), approve, &project);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // A succeeded query of `outputs` over `cohort` (text format), its id.
  std::string Query(const std::string& request_id, const std::string& cohort,
                    const std::string& outputs) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id(kProject);
    request.set_request_id(request_id);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        absl::StrCat("dataset_id: \"synth-ehr-4\" index_date: \"2024-01-01\" ", cohort, outputs),
        request.mutable_query()));
    trenode::v1::Analysis analysis;
    grpc::Status status =
        analyses_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return WaitForAnalysis(analysis.id()).id();
  }

  // What an independent output checker sees of an analysis's results.
  trenode::v1::AggregateResult TruthOf(const std::string& analysis_id) {
    trenode::v1::GetAnalysisRequest get;
    get.set_analysis_id(analysis_id);
    trenode::v1::Analysis analysis;
    EXPECT_TRUE(analyses_->GetAnalysis(As("olu", "output_checker").get(), get, &analysis).ok());
    return analysis.result();
  }

  // The attacker's search for a small group (done here with a checker's
  // eyes): a region and sex holding 1 to 9 of the persons with heart
  // failure; sets `small` to their number and `total` to all of them.
  std::pair<std::string, std::string> SmallHeartFailureGroup(int64_t& small, int64_t& total) {
    std::string by_group = Query("groups", kHeartFailure, R"pb(
      outputs { name: "g" crosstab { rows { variable { column: "region" } }
                                     columns { variable { column: "sex" } } } })pb");
    trenode::v1::AggregateResult groups = TruthOf(by_group);
    std::pair<std::string, std::string> found;
    for (const auto& cell : groups.tables(0).cells()) {
      if (cell.margin()) {
        if (cell.group(0) == "Total" && cell.group(1) == "Total") total = cell.count();
      } else if (cell.count() > 0 && cell.count() < 10 && found.first.empty()) {
        found = {cell.group(0), cell.group(1)};
        small = cell.count();
      }
    }
    return found;
  }

  // Criteria text: heart failure, in region and of sex.
  static std::string InGroup(const std::pair<std::string, std::string>& group) {
    return absl::StrCat(R"pb(all_of {
      criteria { events { filter { table: "condition_occurrence" code_column: "condition_code"
                                   code_prefixes: "I50" } } }
      criteria { person { variable { column: "region" } comparison: COMPARISON_EQ
                          values { text: ")pb", group.first, R"pb(" } } }
      criteria { person { variable { column: "sex" } comparison: COMPARISON_EQ
                          values { text: ")pb", group.second, R"pb(" } } } })pb");
  }

  // Creates and submits the analysis's release as the researcher.
  Release CreateAndSubmit(const std::string& analysis_id) {
    Release draft, submitted;
    grpc::Status status = Create(analysis_id, &draft);
    EXPECT_TRUE(status.ok()) << status.error_message();
    status = Submit(draft.id(), &submitted);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return submitted;
  }

  // A released file's rows, split on commas (the files here quote nothing).
  std::vector<std::vector<std::string>> Rows(const Release& release, const std::string& file) {
    std::string bytes;
    grpc::Status status = Download(release, "ada", "researcher", &bytes, file);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::vector<std::string>> rows;
    for (absl::string_view line : absl::StrSplit(bytes, '\n', absl::SkipEmpty())) {
      rows.push_back(absl::StrSplit(line, ','));
    }
    return rows;
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

// Before any review, the requester learns file-level verdicts in words, and
// only once the release is submitted (a draft read and dropped would be an
// oracle nobody sees): no cell coordinates, labels or rule counts, and no
// size or hash of a file nobody has released (a hash of a short file gives
// its contents away).
TEST_F(DisclosureAttacksTest, DraftMetadataShowsTheRequesterNoCells) {
  Release draft;
  ASSERT_TRUE(Create(CountsAnalysis("meta"), &draft).ok());
  ASSERT_EQ(draft.files_size(), 1);
  for (const Release& seen : {draft, ViewAs(draft.id(), "ada", "researcher")}) {
    EXPECT_EQ(seen.results_json(), "");
    EXPECT_EQ(seen.files(0).verdict(), "");
    EXPECT_EQ(seen.files(0).verdict_summary(), "checked when the release is submitted");
    EXPECT_EQ(seen.files(0).size(), 0);
    EXPECT_EQ(seen.files(0).sha256(), "");
  }
  // Output checkers see the cells each rule failed.
  Release checked = ViewAs(draft.id());
  EXPECT_TRUE(absl::StrContains(checked.results_json(), "\"threshold\": [[")) << checked.results_json();
  EXPECT_GT(checked.files(0).size(), 0);

  Release submitted, reply;
  ASSERT_TRUE(Submit(draft.id(), &submitted).ok());
  EXPECT_EQ(submitted.files(0).verdict_summary(), "passes the disclosure rules");
  EXPECT_EQ(submitted.files(0).sha256(), "");
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


// Differencing two releases: "I50" and "I50 but not (region R and sex S)"
// both pass alone; their difference is the few persons of (R, S). The
// overlap audit sends the second to output checkers with the finding, and
// the requester learns only that it needs a checker.
TEST_F(DisclosureAttacksTest, DifferencingTwoReleasesGoesToACheckerWithTheFinding) {
  AutoRelease();
  int64_t small = 0, total = 0;
  std::pair<std::string, std::string> group = SmallHeartFailureGroup(small, total);
  ASSERT_FALSE(group.first.empty()) << "the site should have a small group of heart failure";
  ASSERT_GE(total - small, 10);

  Release first = CreateAndSubmit(Query("all", kHeartFailure, R"pb(outputs { name: "n" counts {} })pb"));
  ASSERT_EQ(first.state(), trenode::v1::RELEASE_STATE_RELEASED) << first.state_reason();
  std::string without = absl::StrCat(R"pb(cohort { all_of {
      criteria { events { filter { table: "condition_occurrence" code_column: "condition_code"
                                   code_prefixes: "I50" } } }
      criteria { none_of { )pb", InGroup(group), R"pb( } } } })pb");
  Release second = CreateAndSubmit(Query("all-but", without, R"pb(outputs { name: "n" counts {} })pb"));
  EXPECT_EQ(second.state(), trenode::v1::RELEASE_STATE_IN_REVIEW);
  EXPECT_EQ(second.files(0).verdict(), "review");
  // The requester is not told why (that would confirm the difference is small).
  EXPECT_EQ(second.files(0).verdict_summary(), "needs an output checker");
  EXPECT_TRUE(second.files(0).checker_notes().empty());
  Release checked = ViewAs(second.id());
  ASSERT_GE(checked.files(0).checker_notes_size(), 1);
  EXPECT_EQ(checked.files(0).checker_notes(0),
            absl::StrCat("cell \"count\" differs from release ", first.id(),
                         "'s n.csv cell \"count\" by fewer than 10 persons (", small, ")"));
  // Nothing was downloadable: a checker must decide.
  std::string bytes;
  EXPECT_EQ(Download(second, "ada", "researcher", &bytes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// Under cell-key perturbation the same two releases go out automatically,
// but each count carries noise fixed by its persons: asking again gives the
// same answer, and the difference is not the small group's size in general
// (disclosure_test's CellKeyTest shows it is wrong in most draws of keys).
TEST_F(DisclosureAttacksTest, CellKeyPerturbationKeepsAutoReleaseAndBlursTheDifference) {
  AutoRelease("cell_key");
  Release first = CreateAndSubmit(Query("all", kHeartFailure, R"pb(outputs { name: "n" counts {} })pb"));
  ASSERT_EQ(first.state(), trenode::v1::RELEASE_STATE_RELEASED) << first.state_reason();
  Release again = CreateAndSubmit(Query("again", kHeartFailure, R"pb(outputs { name: "n" counts {} })pb"));
  ASSERT_EQ(again.state(), trenode::v1::RELEASE_STATE_RELEASED) << again.state_reason();
  std::vector<std::vector<std::string>> one = Rows(first, "n.csv"), two = Rows(again, "n.csv");
  EXPECT_EQ(one, two);  // the same persons, the same noise
  int64_t published = 0, truth = TruthOf(first.analysis_id()).tables(0).cells(0).count();
  ASSERT_TRUE(absl::SimpleAtoi(one[1][0], &published)) << one[1][0];
  EXPECT_LE(std::abs(published - truth), 2);
}

// Margins in one release: counts by region beside counts by region and sex.
// Alone, each region's hidden cell could be the region's count less its
// published cells; protected jointly, no region row has exactly one hidden
// cell.
TEST_F(DisclosureAttacksTest, MarginsInOneReleaseRecoverNoHiddenCell) {
  AutoRelease();
  Release release = CreateAndSubmit(Query("margins", kHeartFailure, R"pb(
    outputs { name: "by_region" counts { group_by { variable { column: "region" } } } }
    outputs { name: "by_region_sex" counts { group_by { variable { column: "region" } }
                                             group_by { variable { column: "sex" } } } })pb"));
  ASSERT_EQ(release.state(), trenode::v1::RELEASE_STATE_RELEASED) << release.state_reason();
  std::map<std::string, std::string> region_count;
  for (const auto& row : Rows(release, "by_region.csv")) region_count[row[0]] = row[1];
  std::map<std::string, int> hidden;
  std::map<std::string, int64_t> shown;
  int hidden_cells = 0;
  for (const auto& row : Rows(release, "by_region_sex.csv")) {
    if (row[0] == "region" || row[0] == "Total") continue;
    if (row[2].empty()) {
      ++hidden[row[0]];
      ++hidden_cells;
    } else {
      shown[row[0]] += std::stoll(row[2]);
    }
  }
  ASSERT_GT(hidden_cells, 0) << "the site should have small region x sex cells";
  for (const auto& [region, count] : hidden) {
    if (region_count[region].empty()) continue;  // the region's count is hidden too
    EXPECT_NE(count, 1) << region << ": its hidden cell would be " << region_count[region]
                        << " - " << shown[region];
  }
}

// Regression on an indicator that picks out fewer persons than the
// threshold would give away their outcome through X'X and X'y: the fit
// fails the levels rule, and what is released is the fit, never the sums.
TEST_F(DisclosureAttacksTest, RegressionOnARareIndicatorFailsAndSumsNeverLeave) {
  AutoRelease();
  int64_t small = 0, total = 0;
  std::pair<std::string, std::string> group = SmallHeartFailureGroup(small, total);
  ASSERT_FALSE(group.first.empty()) << "the site should have a small group of heart failure";
  // Year of birth on an indicator: the indicator's coefficient is the
  // group's mean year of birth less everyone else's.
  auto regression = [&](const std::string& id, const std::string& indicator) {
    return Query(id, "", absl::StrCat(R"pb(outputs { name: "fit" regression {
      outcome { column: "year_of_birth" }
      predictors { indicator { )pb", indicator, R"pb( } } } })pb"));
  };
  Release single = CreateAndSubmit(regression("one", InGroup(group)));
  EXPECT_EQ(single.state(), trenode::v1::RELEASE_STATE_IN_REVIEW);
  EXPECT_EQ(single.files(0).verdict(), "fail");
  EXPECT_TRUE(absl::StrContains(single.files(0).verdict_summary(), "(regression-levels)"))
      << single.files(0).verdict_summary();

  Release common = CreateAndSubmit(regression(
      "many", R"pb(events { filter { table: "condition_occurrence" code_column: "condition_code"
                                      code_prefixes: "I50" } })pb"));
  ASSERT_EQ(common.state(), trenode::v1::RELEASE_STATE_RELEASED) << common.state_reason();
  std::vector<std::vector<std::string>> rows = Rows(common, "fit.csv");
  ASSERT_EQ(rows[0], (std::vector<std::string>{"term", "coefficient", "std_error"}));
  EXPECT_EQ(rows[1][0], "intercept");
  EXPECT_EQ(rows[2][0], "indicator");
  EXPECT_EQ(rows[3][0], "n");
  EXPECT_EQ(rows[4][0], "residual_dof");
  EXPECT_EQ(rows.size(), 5u);  // no X'X, X'y or y'y
}

}  // namespace
}  // namespace trenode
