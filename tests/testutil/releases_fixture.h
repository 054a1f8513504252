// A real node with a synthetic site and an approved project, and the
// calls the release tests make as each person: submit analyses, open,
// submit, review and download releases. Shared by the release workflow and
// disclosure attack tests.
#ifndef TRENODE_TESTS_TESTUTIL_RELEASES_FIXTURE_H_
#define TRENODE_TESTS_TESTUTIL_RELEASES_FIXTURE_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/testutil/bundles.h"
#include "tests/testutil/heart_failure.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/analyses.grpc.pb.h"
#include "trenode/v1/governance.grpc.pb.h"
#include "trenode/v1/releases.grpc.pb.h"

namespace trenode::testing {

using trenode::v1::Release;

inline constexpr char kProject[] = "hf-release";
inline constexpr char kDataset[] = "synth-ehr-4";

class ReleasesFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ImportSyntheticSite(node_, {4, 20000});
    ApproveProjectWithTrainedResearcher(
        node_, kProject, kDataset, "ada",
        {trenode::v1::OUTPUT_KIND_COUNTS, trenode::v1::OUTPUT_KIND_CROSSTAB});
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& subject, const std::string& role) {
    return WithToken(node_.Token(subject, {role}));
  }

  trenode::v1::Analysis WaitForAnalysis(
      const std::string& id,
      trenode::v1::AnalysisState expected = trenode::v1::ANALYSIS_STATE_SUCCEEDED) {
    trenode::v1::GetAnalysisRequest get;
    get.set_analysis_id(id);
    trenode::v1::Analysis analysis;
    for (int i = 0; i < 600; ++i) {
      EXPECT_TRUE(analyses_->GetAnalysis(As("olu", "output_checker").get(), get, &analysis).ok());
      if (analysis.state() == trenode::v1::ANALYSIS_STATE_SUCCEEDED ||
          analysis.state() == trenode::v1::ANALYSIS_STATE_FAILED) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(analysis.state(), expected) << analysis.state_reason();
    return analysis;
  }

  // Succeeded counts of the heart-failure cohort by age band and sex.
  std::string CountsAnalysis(
      const std::string& request_id,
      trenode::v1::AnalysisState expected = trenode::v1::ANALYSIS_STATE_SUCCEEDED) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id(kProject);
    request.set_request_id(request_id);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        absl::StrCat("dataset_id: \"synth-ehr-4\" index_date: \"2024-01-01\"",
                     kUndiagnosedHeartFailureCohort,
                     "outputs { name: \"hf_by_age_sex\" counts { group_by {",
                     kAgeBandGroup, "} group_by { variable { column: \"sex\" } } } }"),
        request.mutable_query()));
    trenode::v1::Analysis analysis;
    grpc::Status status =
        analyses_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return WaitForAnalysis(analysis.id(), expected).id();
  }

  grpc::Status Create(const std::string& analysis_id, Release* release, bool include_logs = false) {
    trenode::v1::CreateReleaseRequest request;
    request.set_analysis_id(analysis_id);
    request.set_include_logs(include_logs);
    grpc::Status status = releases_->CreateRelease(As("ada", "researcher").get(), request, release);
    // The node builds the files in the background: wait for the draft.
    for (int i = 0; status.ok() && release->state() == trenode::v1::RELEASE_STATE_PREPARING;
         ++i) {
      if (i == 600) {
        ADD_FAILURE() << "release " << release->id() << " still preparing after 60 s";
        break;
      }
      absl::SleepFor(absl::Milliseconds(100));
      trenode::v1::ReleaseIdRequest get;
      get.set_release_id(release->id());
      status = releases_->GetRelease(As("ada", "researcher").get(), get, release);
    }
    return status;
  }

  // The release as `subject` acting as `role` sees it.
  Release ViewAs(const std::string& id, const std::string& subject = "olu",
                 const std::string& role = "output_checker") {
    trenode::v1::ReleaseIdRequest request;
    request.set_release_id(id);
    Release release;
    grpc::Status status = releases_->GetRelease(As(subject, role).get(), request, &release);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return release;
  }

  grpc::Status Submit(const std::string& id, Release* release) {
    trenode::v1::ReleaseIdRequest request;
    request.set_release_id(id);
    return releases_->SubmitRelease(As("ada", "researcher").get(), request, release);
  }

  grpc::Status Review(const Release& release, const std::string& subject,
                      trenode::v1::FileDecision decision, Release* reply,
                      const std::string& explanation = "",
                      const std::string& role = "output_checker") {
    trenode::v1::ReviewReleaseRequest request;
    request.set_release_id(release.id());
    for (const auto& file : release.files()) {
      auto* review = request.add_files();
      review->set_file(file.name());
      review->set_decision(decision);
      review->set_explanation(explanation);
    }
    return releases_->ReviewRelease(As(subject, role).get(), request, reply);
  }

  // The file's bytes as `subject` may download them.
  grpc::Status Download(const Release& release, const std::string& subject, const std::string& role,
                        std::string* bytes, const std::string& file = "") {
    trenode::v1::DownloadFileRequest request;
    request.set_release_id(release.id());
    request.set_file(file.empty() ? release.files(0).name() : file);
    auto context = As(subject, role);
    auto reader = releases_->DownloadFile(context.get(), request);
    trenode::v1::DownloadChunk chunk;
    bytes->clear();
    while (reader->Read(&chunk)) *bytes += chunk.data();
    return reader->Finish();
  }

  // One checker's decisions, file by file: {file, decision, explanation}.
  grpc::Status ReviewEach(const Release& release, const std::string& subject,
                          const std::vector<trenode::v1::FileReview>& decisions, Release* reply) {
    trenode::v1::ReviewReleaseRequest request;
    request.set_release_id(release.id());
    for (const auto& decision : decisions) *request.add_files() = decision;
    return releases_->ReviewRelease(As(subject, "output_checker").get(), request, reply);
  }

  static trenode::v1::FileReview Decide(const std::string& file, bool approve,
                                        const std::string& explanation) {
    trenode::v1::FileReview review;
    review.set_file(file);
    review.set_decision(approve ? trenode::v1::FILE_DECISION_APPROVE
                                : trenode::v1::FILE_DECISION_REJECT);
    review.set_explanation(explanation);
    return review;
  }

  // Ada's bundle of `program` (job.sh, reading the test dataset, declaring
  // `outputs`) for the test project; its SHA-256.
  std::string UploadBundle(const std::string& program, const std::vector<std::string>& outputs) {
    trenode::v1::Bundle bundle;
    auto context = As("ada", "researcher");
    auto writer = analyses_->UploadBundle(context.get(), &bundle);
    trenode::v1::UploadBundleRequest header;
    header.mutable_header()->set_project_id(kProject);
    writer->Write(header);
    trenode::v1::UploadBundleRequest chunk;
    chunk.set_chunk(ScriptBundle("job.sh", program, {kDataset}, outputs));
    writer->Write(chunk);
    writer->WritesDone();
    EXPECT_TRUE(writer->Finish().ok());
    return bundle.sha256();
  }

  // A script analysis whose job writes `outputs`, finished in `expected`.
  std::string ScriptAnalysis(
      const std::string& program, const std::vector<std::string>& outputs,
      trenode::v1::AnalysisState expected = trenode::v1::ANALYSIS_STATE_SUCCEEDED) {
    std::string bundle_sha256 = UploadBundle(program, outputs);
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id(kProject);
    request.set_request_id(absl::StrCat(absl::StrJoin(outputs, "-"), "-", program.size()));
    request.mutable_script()->set_bundle_sha256(bundle_sha256);
    trenode::v1::Analysis analysis;
    EXPECT_TRUE(analyses_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis).ok());
    trenode::v1::AnalysisDecisionRequest decision;
    decision.set_analysis_id(analysis.id());
    EXPECT_TRUE(
        analyses_->ApproveAnalysis(As("sam", "data_steward").get(), decision, &analysis).ok());
    return WaitForAnalysis(analysis.id(), expected).id();
  }

  // The analysis's one output as its researcher downloads it once checkers
  // "olu" and "kim" have approved it with `explanation` ("" after a test
  // failure).
  std::string ReleasedOutput(const std::string& analysis_id, const std::string& explanation) {
    Release draft, submitted, reply;
    std::string bytes;
    EXPECT_TRUE(Create(analysis_id, &draft).ok());
    EXPECT_TRUE(Submit(draft.id(), &submitted).ok());
    for (const char* checker : {"olu", "kim"}) {
      EXPECT_TRUE(
          Review(submitted, checker, trenode::v1::FILE_DECISION_APPROVE, &reply, explanation).ok());
    }
    EXPECT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED) << reply.state_reason();
    EXPECT_TRUE(Download(reply, "ada", "researcher", &bytes).ok());
    return bytes;
  }

  // A renewed approval of the test project for a year, with counts
  // pre-approved; tests add the policy they exercise.
  static trenode::v1::ApproveProjectRequest Reapproval() {
    trenode::v1::ApproveProjectRequest approve;
    approve.set_project_id(kProject);
    approve.set_reference("REC 26/NW/0001");
    *approve.mutable_expires() = google::protobuf::util::TimeUtil::GetCurrentTime() + google::protobuf::util::TimeUtil::HoursToDuration(24 * 365);
    approve.add_dataset_ids(kDataset);
    approve.add_preapproved_query_kinds(trenode::v1::OUTPUT_KIND_COUNTS);
    return approve;
  }

  std::filesystem::path ObjectPath(const std::string& key) {
    return std::filesystem::path(node_.config().object_store().posix().root()) / key;
  }

  // What a derived suite changes in the node's config (e.g. its object store),
  // set in its SetUpTestSuite, before any fixture is made.
  static inline std::function<void(trenode::v1::NodeConfig&)> also_configure;

  TestNode node_{[](trenode::v1::NodeConfig& config) {
    config.mutable_compute()->mutable_sandbox();
    if (also_configure) also_configure(config);
  }};
  std::unique_ptr<trenode::v1::Analyses::Stub> analyses_ =
      trenode::v1::Analyses::NewStub(node_.Channel());
  std::unique_ptr<trenode::v1::Releases::Stub> releases_ =
      trenode::v1::Releases::NewStub(node_.Channel());
};


}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_RELEASES_FIXTURE_H_
