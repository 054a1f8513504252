// A release's files are built off the request path (spec/releases.md,
// "Files"): CreateRelease records the release as preparing and answers; the
// node's preparer makes it a draft, records that as its own transition, and
// builds releases left preparing again when it next starts. The requester
// may withdraw a release while it is preparing, and nothing of it is kept.
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/log/activity_event.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/releases_fixture.h"
#include "trenode/v1/activity_log.grpc.pb.h"

namespace trenode {
namespace {
using testing::Release;

class ReleasePreparationTest : public testing::ReleasesFixture {
 protected:
  // From now on no release can become a draft: the store refuses the
  // write, as a full disk would, and the release stays preparing.
  void FailDrafts() {
    auto db = storage::SqliteDb::Open(node_.config().database_path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(absl::StrCat("CREATE TRIGGER injected_fault BEFORE UPDATE ON releases "
                                         "WHEN OLD.state = ",
                                         trenode::v1::RELEASE_STATE_PREPARING, " AND NEW.state = ",
                                         trenode::v1::RELEASE_STATE_DRAFT,
                                         " BEGIN SELECT RAISE(ABORT, 'injected fault'); END"))
                    .ok());
  }
  void Heal() {
    auto db = storage::SqliteDb::Open(node_.config().database_path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("DROP TRIGGER injected_fault").ok());
  }

  // CreateRelease's own answer, without waiting for the draft.
  grpc::Status CreateNow(const std::string& analysis_id, Release* release) {
    trenode::v1::CreateReleaseRequest request;
    request.set_analysis_id(analysis_id);
    return releases_->CreateRelease(As("ada", "researcher").get(), request, release);
  }

  Release Get(const std::string& id) {
    trenode::v1::ReleaseIdRequest request;
    request.set_release_id(id);
    Release release;
    grpc::Status status = releases_->GetRelease(As("ada", "researcher").get(), request, &release);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return release;
  }

  Release WaitWhilePreparing(const std::string& id) {
    Release release = Get(id);
    for (int i = 0; i < 600 && release.state() == trenode::v1::RELEASE_STATE_PREPARING; ++i) {
      absl::SleepFor(absl::Milliseconds(100));
      release = Get(id);
    }
    return release;
  }

  // The actors of the log's `action` events on `object`.
  std::vector<std::string> Actors(const std::string& action, const std::string& object) {
    auto stub = trenode::v1::ActivityLog::NewStub(node_.Channel());
    trenode::v1::GetEntriesRequest request;
    request.set_action(action);
    auto context = As("audrey", "auditor");
    auto reader = stub->GetEntries(context.get(), request);
    std::vector<std::string> actors;
    trenode::v1::LogEntry entry;
    while (reader->Read(&entry)) {
      auto event = log::ParseLeaf(entry.leaf());
      if (event.ok() && event->object == object) actors.push_back(event->actor);
    }
    EXPECT_TRUE(reader->Finish().ok());
    return actors;
  }

  bool ReviewCopyExists(const Release& release) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(node_.dir().path())) {
      if (entry.is_regular_file() && absl::StrContains(entry.path().string(), release.id())) {
        return true;
      }
    }
    return false;
  }
};

TEST_F(ReleasePreparationTest, TheNodeMakesTheDraftAndRecordsItAsItsOwnTransition) {
  std::string analysis = CountsAnalysis("prepared");
  Release release;
  ASSERT_TRUE(CreateNow(analysis, &release).ok());
  release = WaitWhilePreparing(release.id());
  ASSERT_EQ(release.state(), trenode::v1::RELEASE_STATE_DRAFT) << release.state_reason();
  EXPECT_GT(release.files_size(), 0);
  std::string object = absl::StrCat("release/", release.id());
  EXPECT_EQ(Actors("release.create", object), std::vector<std::string>{"ada@test-node"});
  EXPECT_EQ(Actors("release.prepare", object), std::vector<std::string>{"node/test-node"});
}

TEST_F(ReleasePreparationTest, AReleaseLeftPreparingIsBuiltWhenTheNodeNextStarts) {
  std::string analysis = CountsAnalysis("left-preparing");
  FailDrafts();
  Release release;
  ASSERT_TRUE(CreateNow(analysis, &release).ok());
  // CreateRelease answered once the preparer gave up on it (the store
  // refused the draft): it stays preparing, without files.
  EXPECT_EQ(release.state(), trenode::v1::RELEASE_STATE_PREPARING);
  EXPECT_EQ(release.files_size(), 0);
  EXPECT_FALSE(ReviewCopyExists(release));
  // It holds the analysis: a second request is refused.
  Release second;
  EXPECT_EQ(CreateNow(analysis, &second).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // Submitting waits for the draft.
  trenode::v1::ReleaseIdRequest submit;
  submit.set_release_id(release.id());
  grpc::Status submitted =
      releases_->SubmitRelease(As("ada", "researcher").get(), submit, &second);
  EXPECT_EQ(submitted.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(submitted.error_message().find("is preparing"), std::string::npos)
      << submitted.error_message();
  Heal();
  node_.Restart();
  release = WaitWhilePreparing(release.id());
  ASSERT_EQ(release.state(), trenode::v1::RELEASE_STATE_DRAFT) << release.state_reason();
  EXPECT_GT(release.files_size(), 0);
  EXPECT_EQ(Actors("release.prepare", absl::StrCat("release/", release.id())).size(), 1u);
}

TEST_F(ReleasePreparationTest, WithdrawnWhilePreparingItKeepsNothingAndFreesTheAnalysis) {
  std::string analysis = CountsAnalysis("withdrawn-preparing");
  FailDrafts();
  Release release;
  ASSERT_TRUE(CreateNow(analysis, &release).ok());
  ASSERT_EQ(release.state(), trenode::v1::RELEASE_STATE_PREPARING);
  trenode::v1::ReleaseIdRequest withdraw;
  withdraw.set_release_id(release.id());
  withdraw.set_reason("asked too soon");
  Release withdrawn;
  ASSERT_TRUE(
      releases_->WithdrawRelease(As("ada", "researcher").get(), withdraw, &withdrawn).ok());
  EXPECT_EQ(withdrawn.state(), trenode::v1::RELEASE_STATE_WITHDRAWN);
  Heal();
  node_.Restart();
  // Not built again, and no copy of its files anywhere.
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(Get(release.id()).state(), trenode::v1::RELEASE_STATE_WITHDRAWN);
  EXPECT_FALSE(ReviewCopyExists(release));
  Release again;
  ASSERT_TRUE(Create(analysis, &again).ok());
  EXPECT_EQ(again.state(), trenode::v1::RELEASE_STATE_DRAFT);
}

}  // namespace
}  // namespace trenode
