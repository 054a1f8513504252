// StandingReader against StandingOutputs::Gather on the node's real SQLite
// stores: a reader that keeps what it derived, gathering again after every
// kind of change (new analyses and releases, sites answering and shown on
// their own, releases moving, files withheld and downloaded), must gather
// exactly what a fresh read of every record gathers.
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/analyses/sqlite_analysis_store.h"
#include "node/releases/differencing_guard.h"
#include "node/releases/release_store.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::releases {
namespace {

using trenode::v1::Analysis;
using trenode::v1::Release;
using trenode::v1::SiteStatus;

const char* const kProjects[] = {"p-1", "p-2"};
const char* const kPersons[] = {"ada@home", "bob@home"};
const char* const kPartners[] = {"node-b", "node-c", "node-d"};
const char* const kColumns[] = {"sex", "region"};

trenode::v1::AggregateQuery Query(int column) {
  trenode::v1::AggregateQuery query;
  query.set_dataset_id("d1");
  auto* output = query.add_outputs();
  output->set_name(absl::StrCat("by_", kColumns[column]));
  output->mutable_counts()->add_group_by()->mutable_variable()->set_column(kColumns[column]);
  return query;
}

class StandingReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = storage::SqlitePool::Open(dir_.File("node.db"), 2,
                                          storage::NodeSchemaMigrations());
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    analyses_ = std::make_unique<analyses::SqliteAnalysisStore>(pool_.get());
    releases_ = std::make_unique<SqliteReleaseStore>(pool_.get());
  }

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
  bool Coin() { return Pick(2) == 0; }

  void NewAnalysis() {
    Analysis analysis;
    analysis.set_id(absl::StrCat("a-", ++made_));
    analysis.set_project_id(kProjects[Pick(2)]);
    analysis.set_submitter(kPersons[Pick(2)]);
    analysis.set_request_id(analysis.id());
    analysis.set_state(trenode::v1::ANALYSIS_STATE_SUCCEEDED);
    analysis.set_sequence(1);
    *analysis.mutable_query() = Query(Pick(2));
    if (Pick(5) == 0) analysis.set_federated_part_of("a-elsewhere");  // a home node's own part
    if (Coin()) {
      for (const char* partner : kPartners) {
        if (Pick(3) == 0) continue;
        analysis.add_nodes(partner);
        SiteStatus* site = analysis.add_sites();
        site->set_node_id(partner);
        site->set_state(Coin() ? SiteStatus::STATE_ANSWERED : SiteStatus::STATE_PENDING);
        site->set_visible(Coin());
      }
    }
    trenode::v1::AnalysisEvent first;
    first.set_analysis_id(analysis.id());
    first.set_sequence(1);
    first.set_state(analysis.state());
    ASSERT_TRUE(analyses_->Create(analysis, "hash", first).ok());
    ids_.push_back(analysis.id());
  }

  void ChangeAnalysis() {
    auto analysis = analyses_->Get(ids_[Pick(ids_.size())]);
    ASSERT_TRUE(analysis.ok());
    if (analysis->sites_size() == 0) return;
    SiteStatus* site = analysis->mutable_sites(Pick(analysis->sites_size()));
    switch (Pick(3)) {
      case 0:
        site->set_state(SiteStatus::STATE_ANSWERED);
        break;
      case 1:
        site->set_visible(!site->visible());
        break;
      default:
        site->add_visible_files()->set_name(
            absl::StrCat(analysis->query().outputs(0).name(), ".csv"));
    }
    analysis->set_sequence(analysis->sequence() + 1);
    trenode::v1::AnalysisEvent event;
    event.set_analysis_id(analysis->id());
    event.set_sequence(analysis->sequence());
    event.set_state(analysis->state());
    ASSERT_TRUE(analyses_->Update(*analysis, analysis->state(), event).ok());
  }

  void NewRelease() {
    auto analysis = analyses_->Get(ids_[Pick(ids_.size())]);
    ASSERT_TRUE(analysis.ok());
    auto existing = releases_->ForAnalysis(analysis->id());
    ASSERT_TRUE(existing.ok());
    for (const Release& release : *existing) {
      if (release.state() != trenode::v1::RELEASE_STATE_WITHDRAWN) return;
    }
    Release release;
    release.set_id(absl::StrCat("r-", ++made_));
    release.set_analysis_id(analysis->id());
    release.set_project_id(analysis->project_id());
    release.set_requester(analysis->submitter());
    release.set_state(trenode::v1::RELEASE_STATE_DRAFT);
    release.add_files()->set_name(absl::StrCat(analysis->query().outputs(0).name(), ".csv"));
    if (Coin()) release.add_files()->set_name("job-stdout.txt");
    ASSERT_TRUE(releases_->Create(release).ok());
    release_ids_.push_back(release.id());
  }

  void ChangeRelease() {
    if (release_ids_.empty()) return;
    auto release = releases_->Get(release_ids_[Pick(release_ids_.size())]);
    ASSERT_TRUE(release.ok());
    const trenode::v1::ReleaseState was = release->state();
    switch (Pick(3)) {
      case 0: {
        const trenode::v1::ReleaseState states[] = {
            trenode::v1::RELEASE_STATE_IN_REVIEW, trenode::v1::RELEASE_STATE_APPROVED,
            trenode::v1::RELEASE_STATE_RELEASED,  trenode::v1::RELEASE_STATE_REVOKED,
            trenode::v1::RELEASE_STATE_REJECTED,  trenode::v1::RELEASE_STATE_WITHDRAWN};
        release->set_state(states[Pick(6)]);
        break;
      }
      case 1: {
        auto* file = release->mutable_files(Pick(release->files_size()));
        file->set_withheld(!file->withheld());
        break;
      }
      default:
        release->mutable_files(Pick(release->files_size()))->set_downloads(1);
    }
    absl::Status updated = releases_->Update(*release, was);
    // Another open release of the analysis: the state change is refused.
    ASSERT_TRUE(updated.ok() || release->state() != was) << updated;
  }

  StandingOutputs::Scope RandomScope() {
    StandingOutputs::Scope scope;
    scope.home_node = "home";
    scope.project_id = kProjects[Pick(2)];
    scope.person = Pick(4) == 0 ? "" : kPersons[Pick(2)];
    scope.except = Coin() ? ids_[Pick(ids_.size())] : "";
    trenode::v1::AggregateQuery query = Query(Pick(2));
    scope.questions =
        StandingOutputs::QuestionsOf(query, {absl::StrCat(query.outputs(0).name(), ".csv")});
    return scope;
  }

  trenode::testing::TempDir dir_;
  std::unique_ptr<storage::SqlitePool> pool_;
  std::unique_ptr<analyses::SqliteAnalysisStore> analyses_;
  std::unique_ptr<SqliteReleaseStore> releases_;
  std::mt19937 random_{20261203};
  int made_ = 0;
  std::vector<std::string> ids_, release_ids_;
};

TEST_F(StandingReaderTest, AKeepingReaderGathersWhatAFreshReadGathersAfterEveryChange) {
  StandingReader reader(*releases_, *analyses_);
  NewAnalysis();
  int gathered_something = 0;
  constexpr int kSteps = 600;
  for (int step = 0; step < kSteps; ++step) {
    switch (Pick(4)) {
      case 0:
        NewAnalysis();
        break;
      case 1:
        ChangeAnalysis();
        break;
      case 2:
        NewRelease();
        break;
      default:
        ChangeRelease();
    }
    if (HasFatalFailure()) return;
    for (int look = 0; look < 2; ++look) {
      StandingOutputs::Scope scope = RandomScope();
      auto kept = reader.Gather(scope);
      auto fresh = StandingOutputs::Gather(*releases_, *analyses_, scope);
      ASSERT_TRUE(kept.ok()) << kept.status();
      ASSERT_TRUE(fresh.ok()) << fresh.status();
      ASSERT_TRUE(*kept == *fresh) << "step " << step << ", project " << scope.project_id
                                   << ", person " << scope.person;
      if (!(*fresh == StandingOutputs{})) ++gathered_something;
    }
  }
  // Not a comparison of empty results.
  EXPECT_GT(gathered_something, kSteps / 2);
}

// What the guard finds follows a release the reader has already read: a
// pooled(A,B,C) standing makes pooled(A,B) reveal C once, and no longer
// once it is withdrawn.
TEST_F(StandingReaderTest, AReleaseThatChangesIsReadAgain) {
  Analysis pooled;
  pooled.set_id("a-abc");
  pooled.set_project_id("p-1");
  pooled.set_submitter("ada@home");
  pooled.set_request_id("abc");
  pooled.set_state(trenode::v1::ANALYSIS_STATE_SUCCEEDED);
  pooled.set_sequence(1);
  *pooled.mutable_query() = Query(0);
  for (const char* node : {"node-b", "node-c", "node-d"}) {
    pooled.add_nodes(node);
    SiteStatus* site = pooled.add_sites();
    site->set_node_id(node);
    site->set_state(SiteStatus::STATE_ANSWERED);
    site->set_visible(std::string(node) != "node-d");
  }
  trenode::v1::AnalysisEvent first;
  first.set_analysis_id(pooled.id());
  first.set_sequence(1);
  ASSERT_TRUE(analyses_->Create(pooled, "hash", first).ok());
  Release release;
  release.set_id("r-abc");
  release.set_analysis_id(pooled.id());
  release.set_requester("ada@home");
  release.set_state(trenode::v1::RELEASE_STATE_RELEASED);
  release.add_files()->set_name("by_sex.csv");
  ASSERT_TRUE(releases_->Create(release).ok());

  StandingReader reader(*releases_, *analyses_);
  StandingOutputs::Scope scope{"home", "p-1", "ada@home", "a-other",
                               StandingOutputs::QuestionsOf(Query(0), {"by_sex.csv"})};
  auto reveals = [&]() {
    auto standing = reader.Gather(scope);
    EXPECT_TRUE(standing.ok());
    return standing->Check(Query(0), "by_sex.csv", {"node-b", "node-c"}, {}).revealed;
  };
  EXPECT_EQ(reveals(), std::vector<std::string>{"node-d"});
  release.set_state(trenode::v1::RELEASE_STATE_WITHDRAWN);
  ASSERT_TRUE(releases_->Update(release, trenode::v1::RELEASE_STATE_RELEASED).ok());
  EXPECT_TRUE(reveals().empty());
}

}  // namespace
}  // namespace trenode::releases
