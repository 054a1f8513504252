// Storage and egress charged on a real node over TLS (spec/charging.md,
// "Storage and egress"): a script's output, its review copy and its
// released copy are each charged for the time they are kept, every
// download a researcher makes of a released file is charged as egress (up
// to the download cap, never past it, and never a checker's inspection), a
// revoked release's copy stops being charged but its stored time stays,
// and the statement's total is the sum of its lines.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "node/charging/money.h"
#include "tests/testutil/releases_fixture.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode {
namespace {

using trenode::v1::Release;

class StorageEgressTest : public testing::ReleasesFixture {
 protected:
  static void SetUpTestSuite() {
    also_configure = [](trenode::v1::NodeConfig& config) {
      config.mutable_charging()->set_currency("GBP");
      auto* row = config.mutable_charging()->add_prices();
      row->set_backend("storage");
      row->set_storage_gib_month("1000000000");  // the largest: a few seconds cost something
      row->set_egress_gib("1000000000");
    };
  }
  static void TearDownTestSuite() { also_configure = nullptr; }

  trenode::v1::ProjectUsage Statement(const std::string& subject, const std::string& role) {
    trenode::v1::GetProjectUsageRequest request;
    request.set_project_id(testing::kProject);
    trenode::v1::ProjectUsage usage;
    grpc::Status status = governance_->GetProjectUsage(As(subject, role).get(), request, &usage);
    EXPECT_TRUE(status.ok()) << status.error_message();
    int64_t sum = 0;
    for (const auto& line : usage.lines()) sum += line.cost().total_micros();
    EXPECT_EQ(usage.total_micros(), sum);  // always the sum of its lines
    return usage;
  }

  static const trenode::v1::UsageLine* Line(const trenode::v1::ProjectUsage& usage,
                                            const std::string& kind, const std::string& id) {
    for (const auto& line : usage.lines()) {
      if (line.kind() == kind && (id.empty() || line.analysis_id() == id)) return &line;
    }
    return nullptr;
  }

  std::unique_ptr<trenode::v1::Governance::Stub> governance_ =
      trenode::v1::Governance::NewStub(node_.Channel());
};

TEST_F(StorageEgressTest, EveryDownloadIsEgressAndARevokedCopyKeepsItsStoredTime) {
  // 1,000,000 bytes, so that even a moment's storage is some byte-seconds.
  const std::string analysis = ScriptAnalysis(
      "head -c 1000000 /dev/zero | tr '\\0' a > /job/outbox/notes.txt", {"notes.txt"});
  std::string bytes = ReleasedOutput(analysis, "plain text, no data");
  ASSERT_EQ(bytes.size(), 1000000u);
  Release released;
  {
    trenode::v1::ListReleasesRequest list;
    trenode::v1::ListReleasesResponse releases;
    ASSERT_TRUE(releases_->ListReleases(As("ada", "researcher").get(), list, &releases).ok());
    ASSERT_EQ(releases.releases_size(), 1);
    released = releases.releases(0);
  }
  // A checker's inspection is not the project's egress.
  std::string inspected;
  ASSERT_TRUE(Download(released, "olu", "output_checker", &inspected).ok());
  // The researcher downloads it up to the cap (10), each charged; past it
  // the node refuses before sending, and charges nothing.
  for (int i = 1; i < 10; ++i) ASSERT_TRUE(Download(released, "ada", "researcher", &bytes).ok());
  grpc::Status capped = Download(released, "ada", "researcher", &bytes);
  EXPECT_EQ(capped.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  trenode::v1::ProjectUsage usage = Statement("ada", "researcher");
  const trenode::v1::UsageLine* egress = Line(usage, "egress", "");
  ASSERT_NE(egress, nullptr);
  EXPECT_EQ(egress->analysis_id(), "10 downloads");
  EXPECT_EQ(egress->egress_bytes(), 10 * 1000000);
  EXPECT_EQ(egress->cost().total_micros(),
            charging::MulDivRound(10 * 1000000, charging::kMaxPriceMicros, int64_t{1} << 30));
  // The output and its review copy are kept, their sizes withheld from the
  // researcher (a job could signal through them); the released copy's not.
  for (const char* kept : {"outputs", "review copies", "released copies"}) {
    ASSERT_NE(Line(usage, "storage", kept), nullptr) << kept;
  }
  EXPECT_EQ(Line(usage, "storage", "outputs")->stored_byte_seconds(), 0);
  // A steward with no part in the project sees them all.
  trenode::v1::ProjectUsage staff = Statement("sam", "data_steward");
  for (const char* kept : {"outputs", "review copies", "released copies"}) {
    ASSERT_NE(Line(staff, "storage", kept), nullptr) << kept;
  }
  EXPECT_GT(Line(staff, "storage", "outputs")->stored_byte_seconds(), 0);

  // Revoked: its released copy is gone and is charged no more, but the
  // time it was kept is charged, not forgotten.
  trenode::v1::RevokeReleaseRequest revoke;
  revoke.set_release_id(released.id());
  revoke.set_reason("the text was not what was described");
  Release revoked;
  ASSERT_TRUE(releases_->RevokeRelease(As("olu", "output_checker").get(), revoke, &revoked).ok());
  trenode::v1::ProjectUsage after = Statement("ada", "researcher");
  const trenode::v1::UsageLine* copy = Line(after, "storage", "released copies");
  ASSERT_NE(copy, nullptr);
  EXPECT_GT(copy->stored_byte_seconds(), 0);
  EXPECT_GT(copy->cost().total_micros(), 0);
  const int64_t kept_micros = copy->cost().total_micros();
  const int64_t kept_seconds = copy->stored_byte_seconds();
  // The output itself is still kept: its charge goes on growing; the
  // revoked copy's does not.
  const int64_t output_before = Line(staff, "storage", "outputs")->cost().total_micros();
  absl::SleepFor(absl::Milliseconds(1100));
  trenode::v1::ProjectUsage later = Statement("sam", "data_steward");
  EXPECT_EQ(Line(later, "storage", "released copies")->cost().total_micros(), kept_micros);
  EXPECT_EQ(Line(later, "storage", "released copies")->stored_byte_seconds(), kept_seconds);
  EXPECT_GT(Line(later, "storage", "outputs")->cost().total_micros(), output_before);
  // And nothing more is sent, nor charged, once revoked.
  EXPECT_EQ(Download(released, "ada", "researcher", &bytes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Line(later, "egress", "")->egress_bytes(), 10 * 1000000);
}


// A release's copies count against the project's storage quota when its
// files are built: one whose review copies and the released copies they may
// become would pass the quota is refused, copying nothing, and the same
// request fits once a steward raises the quota by what it named.
TEST_F(StorageEgressTest, AReleaseWhoseCopiesWouldPassTheStorageQuotaIsRefused) {
  const std::string analysis = ScriptAnalysis(
      "head -c 100000 /dev/zero | tr '\\0' b > /job/outbox/table.txt", {"table.txt"});
  auto budget_now = [&] {
    trenode::v1::GetBudgetRequest get;
    get.set_project_id(testing::kProject);
    trenode::v1::Budget budget;
    grpc::Status status = governance_->GetBudget(As("sam", "data_steward").get(), get, &budget);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return budget;
  };
  auto set_quota = [&](int64_t bytes) {
    trenode::v1::SetBudgetRequest set;
    set.set_project_id(testing::kProject);
    set.set_storage_bytes_quota(bytes);
    set.set_reason("test the release quota");
    trenode::v1::Budget budget;
    grpc::Status status = governance_->SetBudget(As("sam", "data_steward").get(), set, &budget);
    ASSERT_TRUE(status.ok()) << status.error_message();
  };
  // The job's 100,000-byte output is kept; its release needs a review copy
  // and a released copy of it: 200,000 bytes more.
  const int64_t used = budget_now().committed_storage_bytes();
  ASSERT_GE(used, 100000);
  set_quota(used + 199999);

  Release refused;
  grpc::Status status = Create(analysis, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  // Used and needed count the output's size, which the researcher may not
  // see: whole MiB, rounded up.
  constexpr int64_t kMiB = int64_t{1} << 20;
  EXPECT_NE(status.error_message().find(absl::StrCat("storage quota of ", used + 199999,
                                                     " bytes has ", (used + kMiB - 1) / kMiB,
                                                     " MiB used")),
            std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("needs up to 1 MiB for its review copies"),
            std::string::npos)
      << status.error_message();
  EXPECT_EQ(status.error_message().find("200000"), std::string::npos) << status.error_message();
  // Her view of the budget shows the storage it commits in whole MiB too.
  {
    trenode::v1::GetBudgetRequest get;
    get.set_project_id(testing::kProject);
    trenode::v1::Budget hers;
    ASSERT_TRUE(governance_->GetBudget(As("ada", "researcher").get(), get, &hers).ok());
    EXPECT_EQ(hers.committed_storage_bytes(), (used + kMiB - 1) / kMiB * kMiB);
    EXPECT_EQ(hers.storage_bytes_quota(), used + 199999);
  }
  // Nothing was copied, and the request stands withdrawn with the reason.
  EXPECT_EQ(budget_now().committed_storage_bytes(), used);
  trenode::v1::ListReleasesRequest list;
  trenode::v1::ListReleasesResponse releases;
  ASSERT_TRUE(releases_->ListReleases(As("ada", "researcher").get(), list, &releases).ok());
  const Release* withdrawn = nullptr;
  for (const Release& release : releases.releases()) {
    if (release.analysis_id() == analysis) withdrawn = &release;
  }
  ASSERT_NE(withdrawn, nullptr);
  EXPECT_EQ(withdrawn->state(), trenode::v1::RELEASE_STATE_WITHDRAWN);
  EXPECT_NE(withdrawn->state_reason().find("storage quota"), std::string::npos)
      << withdrawn->state_reason();

  // Raised to fit exactly: the same request is a draft, its review copy kept.
  set_quota(used + 200000);
  Release draft;
  status = Create(analysis, &draft);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(draft.state(), trenode::v1::RELEASE_STATE_DRAFT) << draft.state_reason();
  EXPECT_EQ(budget_now().committed_storage_bytes(), used + 100000);
  set_quota(0);
}

}  // namespace
}  // namespace trenode
