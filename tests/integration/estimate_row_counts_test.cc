// A query's estimate on a real node (spec/charging.md, "Estimates") comes
// from the table row counts the catalogue kept when the dataset was
// imported: not from its data file, which it no longer opens (a file made
// unreadable does not change it), across a restart, and, for a version kept
// without counts, from the file once and from what it kept after that. The
// exact counts reach no researcher: the estimate rounds them up to one
// significant digit and no catalogue answer carries them.
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "node/query/row_estimate.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/analyses.grpc.pb.h"
#include "trenode/v1/catalogue.grpc.pb.h"

namespace trenode {
namespace {
using testing::TestNode;

constexpr char kProject[] = "size-study";
constexpr char kDataset[] = "synth-ehr-5";
// 837 persons: an estimate shows 900.
constexpr int64_t kPersons = 837;

class EstimateRowCountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_file_ = testing::ImportSyntheticSite(node_, {5, kPersons});
    testing::ApproveProjectWithTrainedResearcher(node_, kProject, kDataset, "ada",
                                                 {trenode::v1::OUTPUT_KIND_COUNTS});
  }

  std::unique_ptr<grpc::ClientContext> AsResearcher() {
    return testing::WithToken(node_.Token("ada", {"researcher"}));
  }

  static trenode::v1::SubmitAnalysisRequest Request(const std::string& request_id) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id(kProject);
    request.set_request_id(request_id);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(dataset_id: "synth-ehr-5"
             outputs {
               name: "by_sex"
               counts { group_by { variable { column: "sex" } } }
             })pb",
        request.mutable_query()));
    return request;
  }

  // The estimate's basis as the researcher sees it.
  std::string EstimateBasis() {
    trenode::v1::Estimate estimate;
    grpc::Status status = analyses_->EstimateAnalysis(AsResearcher().get(), Request("e"), &estimate);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return estimate.basis();
  }

  // Makes the dataset's stored object unreadable: gone from the store.
  void RemoveDataFile() {
    std::error_code error;
    ASSERT_TRUE(std::filesystem::remove(data_file_, error)) << data_file_ << ": " << error;
  }

  std::filesystem::path data_file_;
  TestNode node_{[](trenode::v1::NodeConfig& config) {
    config.mutable_charging()->set_currency("GBP");
    auto* query = config.mutable_charging()->add_prices();
    query->set_backend("query");
    query->set_cpu_hour("360.00");
    query->set_per_analysis("1.00");
  }};
  std::unique_ptr<trenode::v1::Analyses::Stub> analyses_ =
      trenode::v1::Analyses::NewStub(node_.Channel());
};

TEST_F(EstimateRowCountsTest, EstimatesFromTheCatalogueWithoutOpeningTheDataFile) {
  EXPECT_TRUE(absl::StartsWith(EstimateBasis(), "planner: 900 rows")) << EstimateBasis();
  RemoveDataFile();
  EXPECT_TRUE(absl::StartsWith(EstimateBasis(), "planner: 900 rows")) << EstimateBasis();
  // The counts are the catalogue's: they survive a restart.
  node_.Restart();
  EXPECT_TRUE(absl::StartsWith(EstimateBasis(), "planner: 900 rows")) << EstimateBasis();
}

TEST_F(EstimateRowCountsTest, AVersionWithoutCountsReadsTheFileOnceAndKeepsThem) {
  // As a version imported before counts were kept.
  node_.Restart([&] {
    auto db = storage::SqliteDb::Open(node_.config().database_path(),
                                      storage::SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db.ok()) << db.status();
    // The import kept them: one per table of the dataset.
    auto count = (*db)->Prepare("SELECT count(*) FROM dataset_table_rows");
    ASSERT_TRUE(count.ok()) << count.status();
    ASSERT_TRUE(*count->Step());
    EXPECT_GE(count->Int64(0), 2);
    ASSERT_TRUE((*db)->Exec("DELETE FROM dataset_table_rows").ok());
  });
  EXPECT_TRUE(absl::StartsWith(EstimateBasis(), "planner: 900 rows")) << EstimateBasis();
  RemoveDataFile();
  EXPECT_TRUE(absl::StartsWith(EstimateBasis(), "planner: 900 rows")) << EstimateBasis();
}

TEST_F(EstimateRowCountsTest, ExactCountsReachNoResearcher) {
  absl::StatusOr<std::map<std::string, int64_t>> exact = query::ReadTableRows(data_file_);
  ASSERT_TRUE(exact.ok()) << exact.status();
  ASSERT_EQ(exact->at("person"), kPersons);

  std::vector<std::string> answers;
  trenode::v1::Estimate estimate;
  ASSERT_TRUE(analyses_->EstimateAnalysis(AsResearcher().get(), Request("e"), &estimate).ok());
  answers.push_back(estimate.DebugString());
  trenode::v1::Analysis submitted;
  grpc::Status status = analyses_->SubmitAnalysis(AsResearcher().get(), Request("s"), &submitted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  answers.push_back(submitted.DebugString());
  trenode::v1::GetDatasetRequest get;
  get.set_id(kDataset);
  trenode::v1::Dataset dataset;
  ASSERT_TRUE(node_.Catalogue()->GetDataset(AsResearcher().get(), get, &dataset).ok());
  answers.push_back(dataset.DebugString());
  trenode::v1::ListDatasetsResponse list;
  ASSERT_TRUE(node_.Catalogue()
                  ->ListDatasets(AsResearcher().get(), trenode::v1::ListDatasetsRequest(), &list)
                  .ok());
  ASSERT_EQ(list.datasets_size(), 1);
  answers.push_back(list.DebugString());

  EXPECT_TRUE(absl::StartsWith(estimate.basis(), "planner: 900 rows")) << estimate.basis();
  EXPECT_EQ(estimate.usage().rows_read(), 900);
  for (const auto& [table, count] : *exact) {
    if (count < 100) continue;  // too small to tell from other numbers
    for (const std::string& answer : answers) {
      EXPECT_FALSE(absl::StrContains(answer, absl::StrCat(" ", count, "\n")))
          << table << "'s exact count " << count << " in " << answer;
      EXPECT_FALSE(absl::StrContains(answer, absl::StrCat(" ", count, " ")))
          << table << "'s exact count " << count << " in " << answer;
    }
  }
}

}  // namespace
}  // namespace trenode
