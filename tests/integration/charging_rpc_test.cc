// Charging on a real node over TLS (spec/charging.md): prices from the
// node's config, an estimate from the planner's row statistics, a steward's
// budget that refuses the submission that would pass it and admits the one
// that fits, and a statement of the real, metered runs whose total is the
// sum of its lines.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/analyses.grpc.pb.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode {
namespace {
using google::protobuf::util::TimeUtil;
using testing::TestNode;
using trenode::v1::Analysis;

constexpr char kProject[] = "hf-study";
constexpr char kDataset[] = "synth-ehr-4";

class ChargingRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ImportSyntheticSite(node_, {4, 800});
    // Counts run without a steward's review.
    testing::ApproveProjectWithTrainedResearcher(node_, kProject, kDataset, "ada",
                                                 {trenode::v1::OUTPUT_KIND_COUNTS});
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& subject, const std::string& role) {
    return testing::WithToken(node_.Token(subject, {role}));
  }

  static trenode::v1::SubmitAnalysisRequest Request(const std::string& request_id) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id(kProject);
    request.set_request_id(request_id);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(dataset_id: "synth-ehr-4"
             outputs {
               name: "by_sex"
               counts { group_by { variable { column: "sex" } } }
             })pb",
        request.mutable_query()));
    return request;
  }

  Analysis WaitForEnd(const std::string& id) {
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    Analysis analysis;
    while (absl::Now() < deadline) {
      trenode::v1::GetAnalysisRequest get;
      get.set_analysis_id(id);
      EXPECT_TRUE(analyses_->GetAnalysis(As("ada", "researcher").get(), get, &analysis).ok());
      if (analysis.state() == trenode::v1::ANALYSIS_STATE_SUCCEEDED ||
          analysis.state() == trenode::v1::ANALYSIS_STATE_FAILED) {
        return analysis;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "analysis " << id << " did not end";
    return analysis;
  }

  TestNode node_{[](trenode::v1::NodeConfig& config) {
    config.mutable_charging()->set_currency("GBP");
    auto* query = config.mutable_charging()->add_prices();
    query->set_backend("query");
    query->set_cpu_hour("360.00");  // 0.10 a CPU-second
    query->set_per_analysis("1.00");
  }};
  std::unique_ptr<trenode::v1::Governance::Stub> governance_ =
      trenode::v1::Governance::NewStub(node_.Channel());
  std::unique_ptr<trenode::v1::Analyses::Stub> analyses_ =
      trenode::v1::Analyses::NewStub(node_.Channel());
};

TEST_F(ChargingRpcTest, BudgetRefusesTheSubmissionThatWouldPassItAndTheStatementAddsUp) {
  // The estimate rests on the planner's row statistics of the person table.
  trenode::v1::Estimate estimate;
  grpc::Status status =
      analyses_->EstimateAnalysis(As("ada", "researcher").get(), Request("e"), &estimate);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(absl::StartsWith(estimate.basis(), "planner: 800 rows")) << estimate.basis();
  EXPECT_EQ(estimate.cost().currency(), "GBP");
  EXPECT_EQ(estimate.cost().total_micros(), 1'000'000 + 800 * 2000 / 10'000);  // fee + CPU
  EXPECT_EQ(estimate.budget_left_micros(), -1);

  // Researchers may not set budgets; stewards must say why.
  trenode::v1::SetBudgetRequest set;
  set.set_project_id(kProject);
  set.set_monthly("2.50");
  trenode::v1::Budget budget;
  EXPECT_EQ(governance_->SetBudget(As("ada", "researcher").get(), set, &budget).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(governance_->SetBudget(As("sam", "data_steward").get(), set, &budget).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  set.set_reason("pilot month");
  status = governance_->SetBudget(As("sam", "data_steward").get(), set, &budget);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(budget.monthly_micros(), 2'500'000);

  std::vector<std::string> ids;
  for (const char* request_id : {"one", "two"}) {
    Analysis submitted;
    status = analyses_->SubmitAnalysis(As("ada", "researcher").get(), Request(request_id),
                                       &submitted);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ids.push_back(submitted.id());
  }
  Analysis refused;
  status = analyses_->SubmitAnalysis(As("ada", "researcher").get(), Request("three"), &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "project hf-study's budget of 2.50 GBP"))
      << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "this analysis is estimated at 1.00016 GBP"))
      << status.error_message();

  int64_t sum = 0;
  for (const std::string& id : ids) {
    Analysis ended = WaitForEnd(id);
    ASSERT_EQ(ended.state(), trenode::v1::ANALYSIS_STATE_SUCCEEDED) << ended.state_reason();
    EXPECT_EQ(ended.usage().metered_by(), "query-thread");
    // The rows a query read are one per person of its cohort: its exact
    // size, withheld from the researcher; a steward of the node sees them.
    EXPECT_EQ(ended.usage().rows_read(), 0);
    trenode::v1::GetAnalysisRequest get;
    get.set_analysis_id(id);
    Analysis staff;
    ASSERT_TRUE(analyses_->GetAnalysis(As("sam", "data_steward").get(), get, &staff).ok());
    ASSERT_TRUE(staff.has_result());
    EXPECT_EQ(staff.usage().rows_read(), staff.result().cohort_size());
    EXPECT_GT(staff.usage().rows_read(), 0);
    EXPECT_GE(ended.cost().total_micros(), 1'000'000);
    sum += ended.cost().total_micros();
  }
  trenode::v1::GetProjectUsageRequest usage_request;
  usage_request.set_project_id(kProject);
  trenode::v1::ProjectUsage usage;
  status = governance_->GetProjectUsage(As("ada", "researcher").get(), usage_request, &usage);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Two analyses and the approved dataset, metered since the approval: shown
  // at no cost (this node prices no storage), its size withheld from her.
  ASSERT_EQ(usage.lines_size(), 3);
  int64_t lines = 0;
  int analyses = 0;
  for (const auto& line : usage.lines()) {
    EXPECT_FALSE(line.estimated());
    EXPECT_EQ(line.usage().rows_read(), 0);
    lines += line.cost().total_micros();
    if (line.kind() == "query") {
      ++analyses;
      continue;
    }
    EXPECT_EQ(line.kind(), "storage");
    EXPECT_EQ(line.analysis_id(), "approved datasets");
    EXPECT_EQ(line.stored_byte_seconds(), 0);
    EXPECT_EQ(line.cost().total_micros(), 0);
  }
  EXPECT_EQ(analyses, 2);
  EXPECT_EQ(usage.total_micros(), lines);
  EXPECT_EQ(usage.total_micros(), sum);
  EXPECT_EQ(usage.budget().monthly_micros(), 2'500'000);
  EXPECT_EQ(usage.budget().committed_micros(), sum);
  trenode::v1::ProjectUsage staff_usage;
  status = governance_->GetProjectUsage(As("sam", "data_steward").get(), usage_request,
                                        &staff_usage);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(staff_usage.lines_size(), 3);
  for (const auto& line : staff_usage.lines()) {
    if (line.kind() == "query") EXPECT_GT(line.usage().rows_read(), 0);
    // A steward sees the dataset's bytes x seconds since its approval.
    if (line.kind() == "storage") EXPECT_GT(line.stored_byte_seconds(), 0);
  }
  EXPECT_EQ(staff_usage.total_micros(), usage.total_micros());
}

}  // namespace
}  // namespace trenode
