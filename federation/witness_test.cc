// The witness against a partner log it controls in the test: every way a
// log can break its promise raises one alarm (not repeated), a partner that
// will not prove consistency is not let off, and cosigning resumes once the
// log is consistent again with what was verified. The real gRPC path is in
// tests/integration/witness_test.cc.
#include "federation/witness.h"

#include <functional>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "federation/unimplemented_partner_caller.h"
#include "node/log/activity_log.h"
#include "node/log/merkle.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::federation {
namespace {

// A partner's log of leaves "<prefix>0", "<prefix>1", ...: rewriting it is
// changing the prefix.
struct PartnerLog {
  std::string prefix = "entry-";
  uint64_t size = 3;
  log::NoteSigner key = *log::NoteSigner::Generate("trenode.test/p");

  log::Hash Leaf(uint64_t i) const { return log::LeafHash(prefix + std::to_string(i)); }
  log::Hash Subtree(int level, uint64_t index) const {
    if (level == 0) return Leaf(index);
    return log::NodeHash(Subtree(level - 1, 2 * index), Subtree(level - 1, 2 * index + 1));
  }
  std::string Checkpoint() const {
    log::CompactRange range;
    for (uint64_t i = 0; i < size; ++i) range.Append(Leaf(i));
    return *key.Sign(log::CheckpointText(key.name(), size, range.Root()));
  }
};

class FakePartner : public UnimplementedPartnerCaller {
 public:
  absl::StatusOr<trenode::v1::NodeInfo> GetNodeInfo(const trenode::v1::Partner& partner,
                                                    absl::Duration) override {
    trenode::v1::NodeInfo info;
    info.set_node_id(partner.node_id());
    info.set_log_verifier_key(log.key.VerifierKey());
    return info;
  }
  absl::StatusOr<trenode::v1::Checkpoint> GetCheckpoint(const trenode::v1::Partner&,
                                                        absl::Duration) override {
    trenode::v1::Checkpoint checkpoint;
    checkpoint.set_note(log.Checkpoint());
    return checkpoint;
  }
  absl::StatusOr<trenode::v1::ConsistencyProof> GetConsistencyProof(
      const trenode::v1::Partner&, const trenode::v1::GetConsistencyProofRequest& request,
      absl::Duration) override {
    if (!proof_answer.ok()) return proof_answer;
    trenode::v1::ConsistencyProof proof;
    auto hashes = log::ConsistencyProof(
        request.from_size(), request.to_size(),
        [&](int level, uint64_t index) { return absl::StatusOr<log::Hash>(log.Subtree(level, index)); });
    if (!hashes.ok()) return hashes.status();
    for (const log::Hash& hash : *hashes) proof.add_hashes(log::HashBytes(hash));
    return proof;
  }
  absl::StatusOr<trenode::v1::AddCosignatureResponse> AddCosignature(
      const trenode::v1::Partner&, const trenode::v1::AddCosignatureRequest& request,
      absl::Duration) override {
    cosigned.push_back(request);
    return trenode::v1::AddCosignatureResponse();
  }

  PartnerLog log;
  absl::StatusOr<trenode::v1::ConsistencyProof> proof_answer = trenode::v1::ConsistencyProof();
  std::vector<trenode::v1::AddCosignatureRequest> cosigned;
};

// A witness "w" with one partner "p" and its store, on a fresh database.
struct Rig {
  Rig() {
    trenode::v1::FederationConfig config;
    config.add_partners()->set_node_id("p");
    config.mutable_partners(0)->set_address("127.0.0.1:1");
    partners_ = std::make_unique<PartnerDirectory>(config);
    pool_ = *storage::SqlitePool::Open(dir_.File("node.db"), 1, storage::NodeSchemaMigrations());
    store_ = std::make_unique<SqliteWitnessStore>(pool_.get());
    witness_ = std::make_unique<Witness>(
        "w", log::NoteSigner::Generate("w")->DeriveCosigner("w/witness").value(), partners_.get(),
        &partner_, store_.get(), nullptr, &absl::Now);
  }
  absl::Status Check() { return witness_->Check(*partners_->Find("p")); }
  // The witness's node stops and starts again on the same database.
  void Restart() {
    witness_.reset();
    store_.reset();
    pool_.reset();
    pool_ = *storage::SqlitePool::Open(dir_.File("node.db"), 1, storage::NodeSchemaMigrations());
    store_ = std::make_unique<SqliteWitnessStore>(pool_.get());
    witness_ = std::make_unique<Witness>(
        "w", log::NoteSigner::Generate("w")->DeriveCosigner("w/witness").value(), partners_.get(),
        &partner_, store_.get(), nullptr, &absl::Now);
  }
  trenode::v1::WitnessedLog Seen() {
    auto status = witness_->Status();
    EXPECT_TRUE(status.ok());
    return status->logs_size() > 0 ? status->logs(0) : trenode::v1::WitnessedLog();
  }

  testing::TempDir dir_;  // first: outlives the database
  FakePartner partner_;
  std::unique_ptr<PartnerDirectory> partners_;
  std::unique_ptr<storage::SqlitePool> pool_;
  std::unique_ptr<SqliteWitnessStore> store_;
  std::unique_ptr<Witness> witness_;
};

class WitnessUnitTest : public ::testing::Test, public Rig {};

TEST_F(WitnessUnitTest, AGrowingLogIsCosignedEachTime) {
  for (uint64_t size : {3, 5, 5, 9}) {
    partner_.log.size = size;
    ASSERT_TRUE(Check().ok()) << size;
    EXPECT_EQ(Seen().size(), size);
  }
  EXPECT_EQ(partner_.cosigned.size(), 4u);
  EXPECT_EQ(Seen().alarms_size(), 0);
}

TEST_F(WitnessUnitTest, EveryBrokenPromiseRaisesOneAlarmAndNothingIsCosigned) {
  struct Case {
    std::string name;
    std::function<void(FakePartner&)> break_it;
    std::string detail;
  };
  std::vector<Case> cases = {
      {"forked", [](FakePartner& p) { p.log.prefix = "other-"; }, "forked"},
      {"went back", [](FakePartner& p) { p.log.size = 2; }, "went back"},
      {"rewritten and longer",
       [](FakePartner& p) {
         p.log.prefix = "other-";
         p.log.size = 8;
       },
       "not proven to extend"},
      {"key changed", [](FakePartner& p) { p.log.key = *log::NoteSigner::Generate("trenode.test/p"); },
       "log key changed"},
      {"proof refused",
       [](FakePartner& p) {
         p.log.size = 8;
         p.proof_answer = absl::PermissionDeniedError("not for you");
       },
       "refused a proof"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Rig fresh;  // a witness and partner of its own
    fresh.partner_.log.size = 4;
    ASSERT_TRUE(fresh.Check().ok());
    const size_t cosigned = fresh.partner_.cosigned.size();
    c.break_it(fresh.partner_);
    absl::Status checked = fresh.Check();
    EXPECT_EQ(checked.code(), absl::StatusCode::kFailedPrecondition) << checked;
    EXPECT_TRUE(absl::StrContains(checked.message(), c.detail)) << checked;
    EXPECT_EQ(fresh.Check().code(), absl::StatusCode::kFailedPrecondition);
    trenode::v1::WitnessedLog seen = fresh.Seen();
    ASSERT_EQ(seen.alarms_size(), 1) << "raised once, not on every check";
    EXPECT_EQ(seen.size(), 4u) << "what was verified stands";
    EXPECT_FALSE(seen.alarms(0).earlier_checkpoint().empty());
    EXPECT_EQ(fresh.partner_.cosigned.size(), cosigned);
  }
}

TEST_F(WitnessUnitTest, APartnerThatNeverAnswersForItsProofIsNotLetOff) {
  partner_.log.size = 4;
  ASSERT_TRUE(Check().ok());
  partner_.log.size = 8;
  partner_.proof_answer = absl::DeadlineExceededError("no answer");
  for (int i = 1; i < 5; ++i) {
    EXPECT_EQ(Check().code(), absl::StatusCode::kDeadlineExceeded) << i;
    EXPECT_EQ(Seen().alarms_size(), 0);
    EXPECT_FALSE(Seen().last_error().empty());
  }
  absl::Status fifth = Check();
  EXPECT_EQ(fifth.code(), absl::StatusCode::kFailedPrecondition) << fifth;
  EXPECT_EQ(Seen().alarms_size(), 1);
  // It answers again, consistently: checked and cosigned once more.
  partner_.proof_answer = trenode::v1::ConsistencyProof();
  const size_t cosigned = partner_.cosigned.size();
  ASSERT_TRUE(Check().ok());
  EXPECT_EQ(Seen().size(), 8u);
  EXPECT_TRUE(Seen().last_error().empty());
  EXPECT_EQ(partner_.cosigned.size(), cosigned + 1);
}

// Attack (review L3): a partner alternates a larger checkpoint it never
// proves with the old one it can always show. Showing the old one used to
// reset the count, so the alarm never came.
TEST_F(WitnessUnitTest, AlternatingOldAndUnprovenCheckpointsStillAlarms) {
  partner_.log.size = 4;
  ASSERT_TRUE(Check().ok());
  partner_.proof_answer = absl::DeadlineExceededError("no answer");
  absl::Status last;
  for (int i = 1; i <= 5; ++i) {
    partner_.log.size = 8;
    last = Check();
    if (i < 5) {
      EXPECT_EQ(last.code(), absl::StatusCode::kDeadlineExceeded) << i;
      EXPECT_EQ(Seen().alarms_size(), 0) << i;
      partner_.log.size = 4;  // the old one again: consistent, no proof needed
      EXPECT_TRUE(Check().ok()) << i;
    }
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kFailedPrecondition) << last;
  ASSERT_EQ(Seen().alarms_size(), 1);
  EXPECT_NE(Seen().alarms(0).detail().find("gave no proof"), std::string::npos)
      << Seen().alarms(0).detail();
  // A larger checkpoint proven ends the count.
  partner_.proof_answer = trenode::v1::ConsistencyProof();
  ASSERT_TRUE(Check().ok());
  partner_.proof_answer = absl::DeadlineExceededError("no answer");
  partner_.log.size = 9;
  EXPECT_EQ(Check().code(), absl::StatusCode::kDeadlineExceeded);
}

// Attack (review L3, persistence): the count of unproven larger checkpoints
// was kept in memory, so a partner had only to outlast a restart of the
// witness's node to be let off. It is kept in the witness's database now.
TEST_F(WitnessUnitTest, AWitnessRestartedBetweenUnprovenChecksStillAlarms) {
  partner_.log.size = 4;
  ASSERT_TRUE(Check().ok());
  partner_.log.size = 8;
  partner_.proof_answer = absl::DeadlineExceededError("no answer");
  for (int i = 1; i < 5; ++i) {
    EXPECT_EQ(Check().code(), absl::StatusCode::kDeadlineExceeded) << i;
    Restart();
    partner_.log.size = 4;  // the old one again between them, after the restart
    EXPECT_TRUE(Check().ok()) << i;
    partner_.log.size = 8;
  }
  absl::Status fifth = Check();
  EXPECT_EQ(fifth.code(), absl::StatusCode::kFailedPrecondition) << fifth;
  ASSERT_EQ(Seen().alarms_size(), 1);
  EXPECT_NE(Seen().alarms(0).detail().find("for 5 checks"), std::string::npos)
      << Seen().alarms(0).detail();
  // A larger checkpoint proven ends the count, for good.
  partner_.proof_answer = trenode::v1::ConsistencyProof();
  ASSERT_TRUE(Check().ok());
  Restart();
  partner_.proof_answer = absl::DeadlineExceededError("no answer");
  partner_.log.size = 9;
  EXPECT_EQ(Check().code(), absl::StatusCode::kDeadlineExceeded);
}

// An alarm is kept and logged once per kind in a row; the run was kept in
// memory, so each restart of the witness's node raised it again.
TEST_F(WitnessUnitTest, AnAlarmIsRaisedOncePerKindInARowAcrossRestarts) {
  partner_.log.size = 4;
  ASSERT_TRUE(Check().ok());
  partner_.log.prefix = "other-";  // a fork at the size verified
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Check().code(), absl::StatusCode::kFailedPrecondition) << i;
    Restart();
  }
  EXPECT_EQ(Check().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Seen().alarms_size(), 1);
  // Consistent again ends the run: the next fork is a new alarm.
  partner_.log.prefix = "entry-";
  partner_.log.size = 6;
  ASSERT_TRUE(Check().ok());
  Restart();
  partner_.log.prefix = "other-";
  EXPECT_EQ(Check().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Seen().alarms_size(), 2);
}

TEST_F(WitnessUnitTest, AfterAnAlarmCosigningResumesOnlyWhenConsistentWithWhatWasVerified) {
  partner_.log.size = 4;
  ASSERT_TRUE(Check().ok());
  partner_.log.prefix = "other-";
  EXPECT_FALSE(Check().ok());
  partner_.log.prefix = "entry-";  // the honest log again, grown
  partner_.log.size = 6;
  ASSERT_TRUE(Check().ok());
  EXPECT_EQ(Seen().size(), 6u);
  EXPECT_EQ(Seen().alarms_size(), 1);  // kept
}

}  // namespace
}  // namespace trenode::federation
