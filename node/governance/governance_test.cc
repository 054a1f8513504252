#include "node/governance/governance.h"

#include "adapters/memory/memory_object_store.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "node/catalogue/catalogue.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/governance/sqlite_governance_store.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/datasets.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::governance {
namespace {
using google::protobuf::util::TimeUtil;
using trenode::v1::Project;

const auth::Principal kAda{"ada", trenode::v1::ROLE_RESEARCHER};
const auth::Principal kBob{"bob", trenode::v1::ROLE_RESEARCHER};
const auth::Principal kSteward{"sam", trenode::v1::ROLE_DATA_STEWARD};

class GovernanceTest : public ::testing::Test {
 protected:
  GovernanceTest() {
    for (const char* id : {"hf-data", "other-data"}) {
      auto d = testing::SampleDataset(id, id);
      EXPECT_TRUE(adapters::WriteObject(objects_, d.steward().storage_location(), "x").ok());
      EXPECT_TRUE(catalogue_.Register(kSteward, d).ok());
    }
  }

  Project Propose(const std::string& id, const auth::Principal& who = kAda) {
    Project p;
    p.set_id(id);
    p.set_title("Undiagnosed heart failure");
    p.set_lay_summary("Finding people whose heart failure was never diagnosed.");
    p.set_principal_investigator("mallory@elsewhere");  // ignored for researchers
    p.add_requested_dataset_ids("hf-data");
    auto created = governance_.CreateProject(who, p);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : Project();
  }

  absl::Status Approve(const std::string& id, absl::Duration valid = absl::Hours(24 * 365)) {
    trenode::v1::ApproveProjectRequest request;
    request.set_project_id(id);
    request.set_reference("REC 24/NW/0123");
    *request.mutable_expires() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now_ + valid));
    request.add_dataset_ids("hf-data");
    return governance_.ApproveProject(kSteward, request).status();
  }

  void Train(const std::string& person, const std::string& expires) {
    trenode::v1::TrainingRecord record;
    record.set_person(person);
    record.set_course("Safe Researcher Training");
    record.set_completed("2026-01-10");
    record.set_expires(expires);
    ASSERT_TRUE(governance_.RecordTraining(kSteward, record).ok());
  }

  absl::Status Decide(ProjectAction action, const std::string& id, const std::string& reason) {
    trenode::v1::ProjectDecisionRequest request;
    request.set_project_id(id);
    request.set_reason(reason);
    return governance_.DecideProject(kSteward, action, request).status();
  }

  static void ExpectRefusal(const absl::Status& status, absl::StatusCode code,
                            const std::string& message) {
    EXPECT_EQ(status.code(), code) << status;
    EXPECT_EQ(std::string(status.message()), message);
  }

  testing::TempDir dir_;
  absl::Time now_ = absl::FromCivil(absl::CivilSecond(2026, 11, 1, 12, 0, 0), absl::UTCTimeZone());
  std::unique_ptr<storage::SqlitePool> pool_ =
      *storage::SqlitePool::Open(dir_.File("node.db"), 2, storage::NodeSchemaMigrations());
  catalogue::SqliteCatalogueStore datasets_{pool_.get()};
  adapters::MemoryObjectStore objects_;
  catalogue::Catalogue catalogue_{&datasets_, &objects_, [this] { return now_; }};
  SqliteGovernanceStore store_{pool_.get()};
  Governance governance_{&store_, &datasets_, "site-a", [this] { return now_; }};
};

TEST(ProjectStateMachineTest, TheTransitionTable) {
  using S = trenode::v1::ProjectState;
  using A = ProjectAction;
  struct Arrow {
    S from;
    A action;
    std::optional<S> to;
  };
  const Arrow arrows[] = {
      {S::PROJECT_STATE_PROPOSED, A::kApprove, S::PROJECT_STATE_APPROVED},
      {S::PROJECT_STATE_PROPOSED, A::kReject, S::PROJECT_STATE_REJECTED},
      {S::PROJECT_STATE_PROPOSED, A::kClose, S::PROJECT_STATE_CLOSED},
      {S::PROJECT_STATE_PROPOSED, A::kSuspend, std::nullopt},
      {S::PROJECT_STATE_PROPOSED, A::kResume, std::nullopt},
      {S::PROJECT_STATE_APPROVED, A::kApprove, S::PROJECT_STATE_APPROVED},
      {S::PROJECT_STATE_APPROVED, A::kSuspend, S::PROJECT_STATE_SUSPENDED},
      {S::PROJECT_STATE_APPROVED, A::kClose, S::PROJECT_STATE_CLOSED},
      {S::PROJECT_STATE_APPROVED, A::kReject, std::nullopt},
      {S::PROJECT_STATE_APPROVED, A::kResume, std::nullopt},
      {S::PROJECT_STATE_SUSPENDED, A::kResume, S::PROJECT_STATE_APPROVED},
      {S::PROJECT_STATE_SUSPENDED, A::kClose, S::PROJECT_STATE_CLOSED},
      {S::PROJECT_STATE_SUSPENDED, A::kApprove, std::nullopt},
      {S::PROJECT_STATE_REJECTED, A::kApprove, std::nullopt},
      {S::PROJECT_STATE_REJECTED, A::kClose, std::nullopt},
      {S::PROJECT_STATE_CLOSED, A::kApprove, std::nullopt},
      {S::PROJECT_STATE_CLOSED, A::kResume, std::nullopt},
  };
  for (const Arrow& arrow : arrows) {
    EXPECT_EQ(NextProjectState(arrow.from, arrow.action), arrow.to)
        << trenode::v1::ProjectState_Name(arrow.from) << " " << static_cast<int>(arrow.action);
  }
}

TEST_F(GovernanceTest, ResearcherLeadsWhatTheyPropose) {
  Project p = Propose("hf-study");
  EXPECT_EQ(p.principal_investigator(), "ada@site-a");
  EXPECT_EQ(p.state(), trenode::v1::PROJECT_STATE_PROPOSED);
}

TEST_F(GovernanceTest, EveryRefusalSaysWhy) {
  Propose("hf-study");
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "nope", {"hf-data"}),
                absl::StatusCode::kPermissionDenied,
                "project \"nope\" is not registered at this node");
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "hf-study", {"hf-data"}),
                absl::StatusCode::kFailedPrecondition,
                "project \"hf-study\" is not approved at this node (it is proposed)");
  ASSERT_TRUE(Approve("hf-study").ok());
  ExpectRefusal(governance_.CheckDataAccess("bob@site-a", "hf-study", {"hf-data"}),
                absl::StatusCode::kPermissionDenied,
                "bob@site-a is not an approved member of project \"hf-study\" at this node");
  // The PI's membership came with the approval; training has not.
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "hf-study", {"hf-data"}),
                absl::StatusCode::kPermissionDenied,
                "ada@site-a has no training record at this node");
  Train("ada@site-a", "2026-10-31");
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "hf-study", {"hf-data"}),
                absl::StatusCode::kPermissionDenied, "ada@site-a's training expired on 2026-10-31");
  Train("ada@site-a", "2026-11-01");  // valid through the day it expires
  EXPECT_TRUE(governance_.CheckDataAccess("ada@site-a", "hf-study", {"hf-data"}).ok());
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "hf-study", {"other-data"}),
                absl::StatusCode::kPermissionDenied,
                "dataset \"other-data\" is not in the approval of project \"hf-study\"");

  ASSERT_TRUE(Decide(ProjectAction::kSuspend, "hf-study", "ethics amendment pending").ok());
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "hf-study", {"hf-data"}),
                absl::StatusCode::kFailedPrecondition,
                "project \"hf-study\" is suspended at this node: ethics amendment pending");
  ASSERT_TRUE(Decide(ProjectAction::kResume, "hf-study", "").ok());
  ASSERT_TRUE(catalogue_.Retire(kSteward, "hf-data", "withdrawn by the controller").ok());
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "hf-study", {"hf-data"}),
                absl::StatusCode::kFailedPrecondition,
                "dataset \"hf-data\" is no longer available at this node");
  ASSERT_TRUE(Decide(ProjectAction::kClose, "hf-study", "finished").ok());
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "hf-study", {"hf-data"}),
                absl::StatusCode::kFailedPrecondition,
                "project \"hf-study\" is closed at this node");
}

TEST_F(GovernanceTest, ApprovalExpires) {
  Propose("short-study");
  ASSERT_TRUE(Approve("short-study", absl::Hours(24)).ok());
  Train("ada@site-a", "2030-01-01");
  EXPECT_TRUE(governance_.CheckDataAccess("ada@site-a", "short-study", {"hf-data"}).ok());
  now_ += absl::Hours(25);
  ExpectRefusal(governance_.CheckDataAccess("ada@site-a", "short-study", {"hf-data"}),
                absl::StatusCode::kFailedPrecondition,
                "the approval of project \"short-study\" expired on 2026-11-02");
}

TEST_F(GovernanceTest, ApprovalNeedsReferenceFutureExpiryActiveDatasetsAndLaySummary) {
  Propose("hf-study");
  trenode::v1::ApproveProjectRequest request;
  request.set_project_id("hf-study");
  request.add_dataset_ids("hf-data");
  *request.mutable_expires() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now_ + absl::Hours(1)));
  EXPECT_EQ(governance_.ApproveProject(kSteward, request).status().code(),
            absl::StatusCode::kInvalidArgument);  // no reference
  request.set_reference("IG-42");
  request.add_dataset_ids("missing-data");
  EXPECT_EQ(governance_.ApproveProject(kSteward, request).status().code(),
            absl::StatusCode::kFailedPrecondition);
  request.mutable_dataset_ids()->RemoveLast();
  *request.mutable_expires() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now_ - absl::Hours(1)));
  EXPECT_EQ(governance_.ApproveProject(kSteward, request).status().code(),
            absl::StatusCode::kInvalidArgument);

  Project silent;
  silent.set_id("no-summary");
  silent.set_title("Untitled");
  ASSERT_TRUE(governance_.CreateProject(kAda, silent).ok());
  EXPECT_EQ(Approve("no-summary").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Decide(ProjectAction::kResume, "hf-study", "").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(GovernanceTest, MembersAreProposedByThePiAndApprovedByAnotherSteward) {
  Propose("hf-study");
  ASSERT_TRUE(Approve("hf-study").ok());
  trenode::v1::ProposeMemberRequest propose;
  propose.set_project_id("hf-study");
  propose.set_person("bob@site-b");
  EXPECT_EQ(governance_.ProposeMember(kBob, propose).status().code(),
            absl::StatusCode::kPermissionDenied);  // not the PI
  ASSERT_TRUE(governance_.ProposeMember(kAda, propose).ok());
  EXPECT_EQ(governance_.ProposeMember(kAda, propose).status().code(),
            absl::StatusCode::kAlreadyExists);

  trenode::v1::MemberDecisionRequest decide;
  decide.set_project_id("hf-study");
  decide.set_person("bob@site-b");
  ASSERT_TRUE(governance_.ApproveMember(kSteward, decide).ok());
  Train("bob@site-b", "2027-01-01");
  EXPECT_TRUE(governance_.CheckDataAccess("bob@site-b", "hf-study", {"hf-data"}).ok());

  decide.set_reason("left the team");
  ASSERT_TRUE(governance_.RevokeMember(kSteward, decide).ok());
  EXPECT_EQ(governance_.CheckDataAccess("bob@site-b", "hf-study", {"hf-data"}).code(),
            absl::StatusCode::kPermissionDenied);

  // A steward cannot approve themselves into a project.
  propose.set_person("sam@site-a");
  ASSERT_TRUE(governance_.ProposeMember(kSteward, propose).ok());
  decide.set_person("sam@site-a");
  ExpectRefusal(governance_.ApproveMember(kSteward, decide).status(),
                absl::StatusCode::kPermissionDenied, "you cannot approve your own membership");
  propose.set_person("not a person");
  EXPECT_EQ(governance_.ProposeMember(kAda, propose).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(GovernanceTest, ResearchersSeeOnlyTheirOwnProjects) {
  Propose("ada-study", kAda);
  Propose("bob-study", kBob);
  EXPECT_EQ(governance_.GetProject(kAda, "bob-study").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(governance_.GetProject(kSteward, "bob-study").ok());
  auto mine = governance_.ListProjects(kAda, {});
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->projects_size(), 1);
  EXPECT_EQ(mine->projects(0).id(), "ada-study");
  EXPECT_EQ(governance_.ListProjects(kSteward, {})->projects_size(), 2);
  trenode::v1::CheckAccessRequest other;
  other.set_project_id("bob-study");
  other.set_person("bob@site-a");
  EXPECT_EQ(governance_.CheckAccess(kAda, other).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(GovernanceTest, PublicRegisterListsApprovedProjectsOnly) {
  Propose("hf-study");
  Propose("pending-study");
  ASSERT_TRUE(Approve("hf-study").ok());
  auto register_ = governance_.PublicRegister();
  ASSERT_TRUE(register_.ok());
  ASSERT_EQ(register_->projects_size(), 1);
  EXPECT_EQ(register_->projects(0).project_id(), "hf-study");
  EXPECT_EQ(register_->projects(0).lay_summary(),
            "Finding people whose heart failure was never diagnosed.");
  EXPECT_EQ(register_->projects(0).dataset_ids(0), "hf-data");
}

}  // namespace
}  // namespace trenode::governance
