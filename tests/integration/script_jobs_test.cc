// Script jobs on a real node with the bubblewrap sandbox: bundles uploaded,
// checked and approved; jobs run, cancelled and refused; outputs kept only as
// declared and never shown to researchers before release.
#include <filesystem>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "node/log/activity_event.h"
#include "node/storage/sqlite.h"
#include "node/synth/generator.h"
#include "tests/testutil/bundles.h"
#include "tests/testutil/compute_backends.h"
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

constexpr char kProject[] = "hf-scripts";
constexpr char kDataset[] = "synth-ehr-4";

// Counts persons by sex, as a researcher's script would.
constexpr char kCountBySex[] = R"py(
import csv, sqlite3
db = sqlite3.connect("file:/data/synth-ehr-4.sqlite?mode=ro", uri=True)
with open("/job/outbox/counts.csv", "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["sex", "n"])
    for sex, n in db.execute("SELECT sex, COUNT(*) FROM person GROUP BY sex ORDER BY sex"):
        w.writerow([sex, n])
print("wrote counts.csv")
)py";

// Nodes whose scripts run in the bubblewrap sandbox, or through Slurm.
struct OnSandbox {
  static void Configure(trenode::v1::NodeConfig& config) {
    config.mutable_compute()->mutable_sandbox();
  }
};
struct OnSlurm {
  static void Configure(trenode::v1::NodeConfig& config) {
    testing::SlurmCluster* cluster = testing::SlurmEnvironment::Cluster();
    ASSERT_NE(cluster, nullptr);
    config.mutable_compute()->mutable_slurm()->set_slurm_conf(cluster->conf());
    config.mutable_compute()->mutable_slurm()->set_first_uid(testing::TestFirstUid() + 32);
  }
};

template <typename Backend>
class ScriptJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    site_file_ = testing::ImportSyntheticSite(node_, {4, 600});
    testing::ApproveProjectWithTrainedResearcher(node_, kProject, kDataset, "ada");
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& subject, const std::string& role) {
    return testing::WithToken(node_.Token(subject, {role}));
  }

  grpc::Status Upload(const std::string& archive, trenode::v1::Bundle* bundle) {
    auto context = As("ada", "researcher");
    auto writer = stub_->UploadBundle(context.get(), bundle);
    trenode::v1::UploadBundleRequest header;
    header.mutable_header()->set_project_id(kProject);
    writer->Write(header);
    for (size_t at = 0; at < archive.size(); at += 1 << 20) {
      trenode::v1::UploadBundleRequest chunk;
      chunk.set_chunk(archive.substr(at, 1 << 20));
      if (!writer->Write(chunk)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  Analysis Submit(const std::string& sha256, const std::string& request_id) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id(kProject);
    request.set_request_id(request_id);
    request.mutable_script()->set_bundle_sha256(sha256);
    Analysis analysis;
    grpc::Status status = stub_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return analysis;
  }

  void Approve(const std::string& id) {
    trenode::v1::AnalysisDecisionRequest decision;
    decision.set_analysis_id(id);
    Analysis reply;
    grpc::Status status = stub_->ApproveAnalysis(As("sam", "data_steward").get(), decision, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  Analysis Get(const std::string& id, const std::string& subject, const std::string& role) {
    trenode::v1::GetAnalysisRequest get;
    get.set_analysis_id(id);
    Analysis analysis;
    EXPECT_TRUE(stub_->GetAnalysis(As(subject, role).get(), get, &analysis).ok());
    return analysis;
  }

  // Polls until the analysis is in `state` (or 30 s pass).
  Analysis WaitFor(const std::string& id, trenode::v1::AnalysisState state) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    Analysis analysis;
    while (absl::Now() < deadline) {
      analysis = Get(id, "olu", "output_checker");
      if (analysis.state() == state) return analysis;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << id << " is " << trenode::v1::AnalysisState_Name(analysis.state()) << " ("
                  << analysis.state_reason() << ")";
    return analysis;
  }

  std::filesystem::path ObjectPath(const std::string& key) {
    return std::filesystem::path(node_.config().object_store().posix().root()) / key;
  }

  TestNode node_{[](trenode::v1::NodeConfig& config) {
    Backend::Configure(config);
    config.mutable_compute()->set_wall_seconds(20);
    config.mutable_compute()->set_memory_mib(512);
  }};
  std::unique_ptr<trenode::v1::Analyses::Stub> stub_ =
      trenode::v1::Analyses::NewStub(node_.Channel());
  std::filesystem::path site_file_;
};

using Backends = ::testing::Types<OnSandbox, OnSlurm>;
TYPED_TEST_SUITE(ScriptJobsTest, Backends);

TYPED_TEST(ScriptJobsTest, ApprovedScriptRunsInTheSandboxAndKeepsItsDeclaredOutput) {
  trenode::v1::Bundle bundle;
  std::string archive = testing::ScriptBundle("count.py", kCountBySex, {kDataset}, {"counts.csv"});
  ASSERT_TRUE(this->Upload(archive, &bundle).ok());
  EXPECT_EQ(bundle.uploaded_by(), "ada@test-node");
  EXPECT_EQ(bundle.manifest().entry_point(), "count.py");

  Analysis submitted = this->Submit(bundle.sha256(), "script-1");
  EXPECT_EQ(submitted.state(), trenode::v1::ANALYSIS_STATE_AWAITING_APPROVAL);
  EXPECT_EQ(absl::StrJoin(submitted.dataset_ids(), ","), kDataset);
  this->Approve(submitted.id());
  Analysis done = this->WaitFor(submitted.id(), trenode::v1::ANALYSIS_STATE_SUCCEEDED);
  const auto& outcome = done.script_outcome();
  EXPECT_EQ(outcome.exit_code(), 0);
  EXPECT_EQ(outcome.stdout(), "wrote counts.csv\n");
  ASSERT_EQ(outcome.outputs_size(), 1);
  EXPECT_EQ(outcome.outputs(0).name(), "counts.csv");

  // The kept output is the true answer, by hand-written SQL.
  auto db = *storage::SqliteDb::Open(this->site_file_.string(), storage::SqliteDb::Mode::kReadOnly);
  auto select = *db->Prepare("SELECT sex, COUNT(*) FROM person GROUP BY sex ORDER BY sex");
  std::string expected = "sex,n\r\n";
  while (*select.Step()) absl::StrAppend(&expected, select.Text(0), ",", select.Int64(1), "\r\n");
  std::string kept = testing::ReadFile(
      this->ObjectPath(absl::StrCat("analyses/", submitted.id(), "/outputs/counts.csv")));
  EXPECT_EQ(kept, expected);
  EXPECT_EQ(outcome.outputs(0).size(), static_cast<int64_t>(expected.size()));

  // Researchers see neither outputs nor logs before release.
  Analysis researched = this->Get(submitted.id(), "ada", "researcher");
  EXPECT_FALSE(researched.has_script_outcome());
  EXPECT_TRUE(researched.results_withheld());

  // Once the steward approves the bundle for the project, it runs unreviewed.
  trenode::v1::ApproveBundleRequest approve;
  approve.set_project_id(kProject);
  approve.set_sha256(bundle.sha256());
  trenode::v1::Bundle approved;
  ASSERT_TRUE(
      this->stub_->ApproveBundle(this->As("sam", "data_steward").get(), approve, &approved).ok());
  ASSERT_EQ(approved.approvals_size(), 1);
  EXPECT_EQ(approved.approvals(0).approved_by(), "sam@test-node");
  Analysis again = this->Submit(bundle.sha256(), "script-2");
  EXPECT_EQ(again.approved_by(), "policy:bundle-approved-for-project");
  this->WaitFor(again.id(), trenode::v1::ANALYSIS_STATE_SUCCEEDED);
}

TYPED_TEST(ScriptJobsTest, BadBundlesAreRefusedAndLeaveNothingBehind) {
  trenode::v1::Bundle bundle;
  grpc::Status status =
      this->Upload(testing::TarGz({{"manifest.textproto",
                                    "entry_point: \"run.py\" datasets: \"synth-ehr-4\" "
                                    "outputs: \"o.csv\""},
                                   {"run.py", "print(1)"},
                                   {"../../etc/cron.d/evil", "* * * * * root sh"}}),
                   &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "bundle: entry \"../../etc/cron.d/evil\" leaves the bundle (\"..\")");

  status = this->Upload(
      testing::TarGz({{"manifest.textproto", "entry_point: \"run.py\""},
                      {"run.py", "/etc/passwd", testing::ArchiveEntry::Kind::kSymlink}}),
      &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "bundle: entry \"run.py\" is a symbolic link (to \"/etc/passwd\"); only files are "
            "allowed");

  std::string noise(17 << 20, '\0');
  std::mt19937 random(7);
  for (char& c : noise) c = static_cast<char>(random());
  status = this->Upload(noise, &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "bundle: more than the limit of 16777216 bytes; nothing was kept");

  // A bundle reading data the project is not approved for.
  status =
      this->Upload(testing::ScriptBundle("run.py", "print(1)", {"other-data"}, {"o.csv"}), &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();

  EXPECT_FALSE(std::filesystem::exists(this->ObjectPath("bundles")) &&
               !std::filesystem::is_empty(this->ObjectPath("bundles")));
}

TYPED_TEST(ScriptJobsTest, UndeclaredOutputsFailTheJobAndAreNotKept) {
  trenode::v1::Bundle bundle;
  ASSERT_TRUE(
      this->Upload(testing::ScriptBundle(
                       "run.sh", "echo 1 > /job/outbox/o.csv; echo leak > /job/outbox/rows.csv",
                       {kDataset}, {"o.csv"}),
                   &bundle)
          .ok());
  Analysis submitted = this->Submit(bundle.sha256(), "undeclared");
  this->Approve(submitted.id());
  Analysis failed = this->WaitFor(submitted.id(), trenode::v1::ANALYSIS_STATE_FAILED);
  // The reason is the node's fixed sentence; the job-chosen file name is
  // only in the details for the node's staff.
  EXPECT_EQ(failed.state_reason(),
            "the job's outbox did not hold exactly the outputs its manifest declares");
  EXPECT_EQ(failed.failure_detail(),
            "the job wrote \"rows.csv\", which its manifest does not declare");
  EXPECT_EQ(failed.script_outcome().outputs_size(), 0);
  EXPECT_FALSE(std::filesystem::exists(
      this->ObjectPath(absl::StrCat("analyses/", submitted.id(), "/outputs/o.csv"))));
}

TYPED_TEST(ScriptJobsTest, CancelledJobIsStoppedAndItsLateOutputDiscarded) {
  trenode::v1::Bundle bundle;
  ASSERT_TRUE(
      this->Upload(testing::ScriptBundle("slow.sh", "echo early > /job/outbox/o.csv; sleep 60",
                                         {kDataset}, {"o.csv"}),
                   &bundle)
          .ok());
  Analysis submitted = this->Submit(bundle.sha256(), "slow");
  this->Approve(submitted.id());
  this->WaitFor(submitted.id(), trenode::v1::ANALYSIS_STATE_RUNNING);
  trenode::v1::AnalysisDecisionRequest cancel;
  cancel.set_analysis_id(submitted.id());
  cancel.set_reason("wrong parameters");
  Analysis reply;
  ASSERT_TRUE(
      this->stub_->CancelAnalysis(this->As("ada", "researcher").get(), cancel, &reply).ok());
  EXPECT_EQ(reply.state(), trenode::v1::ANALYSIS_STATE_CANCELLED);

  // The discard is logged once the job has stopped; nothing of it remains.
  auto log = trenode::v1::ActivityLog::NewStub(this->node_.Channel());
  bool discarded = false;
  for (int i = 0; i < 100 && !discarded; ++i) {
    trenode::v1::GetEntriesRequest entries;
    entries.set_action("analysis.output.discard");
    auto context = this->As("aud", "auditor");
    auto reader = log->GetEntries(context.get(), entries);
    trenode::v1::LogEntry entry;
    while (reader->Read(&entry)) discarded = true;
    reader->Finish();
    if (!discarded) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(discarded);
  EXPECT_FALSE(std::filesystem::exists(
      this->ObjectPath(absl::StrCat("analyses/", submitted.id(), "/outputs/o.csv"))));
  for (const char* backend_dir : {"sandbox", "slurm"}) {
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(this->node_.config().work_dir()) /
                                         backend_dir / submitted.id()));
  }
  EXPECT_EQ(this->Get(submitted.id(), "olu", "output_checker").state(),
            trenode::v1::ANALYSIS_STATE_CANCELLED);
}

}  // namespace
}  // namespace trenode
