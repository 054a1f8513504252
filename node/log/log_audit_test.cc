#include "node/log/log_audit.h"

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "node/log/activity_log.h"
#include "node/log/merkle.h"
#include "node/log/signed_note.h"

namespace trenode::log {
namespace {

// The perfect subtree of leaves "0", "1", ... at (level, index).
Hash Subtree(int level, uint64_t index) {
  if (level == 0) return LeafHash(std::to_string(index));
  return NodeHash(Subtree(level - 1, 2 * index), Subtree(level - 1, 2 * index + 1));
}

std::string Body(uint64_t size) {
  CompactRange range;
  for (uint64_t i = 0; i < size; ++i) range.Append(LeafHash(std::to_string(i)));
  return CheckpointText("trenode.test/b", size, range.Root());
}

class LogAuditTest : public ::testing::Test {
 protected:
  // Node "b"'s log of `size` leaves "0".."size-1", signed, with witness "a"'s
  // cosignature of its checkpoint at `cosigned_size` (and the proof from it).
  trenode::v1::NodeLog LogOf(uint64_t size, uint64_t cosigned_size,
                             absl::Time cosigned_at = absl::Now()) {
    trenode::v1::NodeLog log;
    log.set_node_id("b");
    log.set_log_key(b_log_.VerifierKey());
    log.set_witness_key(b_witness_.VerifierKey());
    log.set_checkpoint(*b_log_.Sign(Body(size)));
    AddCosignature(log, "a", a_witness_, cosigned_size, cosigned_at);
    log.mutable_proofs(0)->set_to_size(size);
    return log;
  }
  void AddCosignature(trenode::v1::NodeLog& log, const std::string& witness,
                      const NoteSigner& key, uint64_t size, absl::Time at) {
    trenode::v1::CosignedCheckpoint& one = *log.add_cosigned();
    one.set_witness(witness);
    one.set_witness_key(key.VerifierKey());
    one.set_size(size);
    one.set_note(*b_log_.Sign(Body(size)) +
                 *key.Cosign(Body(size), static_cast<uint64_t>(absl::ToUnixSeconds(at))));
    trenode::v1::ConsistencyProof& proof = *log.add_proofs();
    proof.set_from_size(size);
    proof.set_to_size(size);
  }
  // Witness keys as an auditor checks them: from each node's signed note.
  std::map<std::string, std::string> Witnesses() const {
    std::map<std::string, std::string> keys;
    for (auto [node, log, witness] :
         {std::tuple<std::string, const NoteSigner*, const NoteSigner*>{"a", &a_log_, &a_witness_},
          {"b", &b_log_, &b_witness_}}) {
      std::string note = *WitnessKeyNote(*log, node, witness->VerifierKey());
      keys[node] = *WitnessKeyFrom(note, log->VerifierKey(), node);
    }
    return keys;
  }
  AuditPolicy Now() const { return AuditPolicy{absl::Now()}; }
  std::string Problems(const trenode::v1::NodeLog& log, const std::string& pinned = "") {
    return absl::StrJoin(AuditNodeLog(log, Witnesses(), pinned, Now()).problems, " | ");
  }

  NoteSigner b_log_ = *NoteSigner::Generate("trenode.test/b");
  NoteSigner b_witness_ = b_log_.DeriveCosigner("trenode.test/b/witness").value();
  NoteSigner a_log_ = *NoteSigner::Generate("trenode.test/a");
  NoteSigner a_witness_ = a_log_.DeriveCosigner("trenode.test/a/witness").value();
};

TEST_F(LogAuditTest, ACosignedCurrentCheckpointChecksOut) {
  LogAudit audit = AuditNodeLog(LogOf(5, 5), Witnesses(), "", Now());
  EXPECT_TRUE(audit.problems.empty()) << audit.problems[0];
  EXPECT_EQ(audit.size, 5u);
  EXPECT_EQ(audit.cosigned_by, std::vector<std::string>{"a@5"});
  EXPECT_TRUE(AuditNodeLog(LogOf(5, 5), Witnesses(), b_log_.VerifierKey(), Now()).problems.empty());
}

TEST_F(LogAuditTest, AnEarlierCosignedCheckpointCountsWithAValidProof) {
  for (uint64_t earlier : {1, 3, 4, 6}) {
    trenode::v1::NodeLog log = LogOf(7, earlier);
    std::vector<Hash> proof = *ConsistencyProof(earlier, 7, [](int level, uint64_t index) {
      return absl::StatusOr<Hash>(Subtree(level, index));
    });
    log.mutable_proofs(0)->set_to_size(7);
    for (const Hash& hash : proof) log.mutable_proofs(0)->add_hashes(HashBytes(hash));
    EXPECT_EQ(Problems(log), "") << earlier;
    // A proof altered on the way is caught.
    if (!proof.empty()) {
      std::string& hash = *log.mutable_proofs(0)->mutable_hashes(0);
      hash[0] = static_cast<char>(hash[0] ^ 1);
      EXPECT_TRUE(absl::StrContains(Problems(log), "not a prefix")) << earlier;
    }
  }
}

TEST_F(LogAuditTest, EveryBrokenPromiseIsReported) {
  // A fork: what a cosigned at size 5 is not the current tree of size 5.
  trenode::v1::NodeLog fork = LogOf(5, 5);
  fork.set_checkpoint(*b_log_.Sign(CheckpointText("trenode.test/b", 5, LeafHash("other"))));
  EXPECT_TRUE(absl::StrContains(Problems(fork), "a fork")) << Problems(fork);
  // Cosigned at a larger size than the current one: rolled back.
  EXPECT_TRUE(absl::StrContains(Problems(LogOf(3, 5)), "larger"));
  // Smaller, with an empty proof.
  EXPECT_TRUE(absl::StrContains(Problems(LogOf(5, 3)), "not a prefix"));
  // A checkpoint not signed by the log key, or a log key not the pinned one.
  trenode::v1::NodeLog unsigned_log = LogOf(5, 5);
  unsigned_log.set_checkpoint(*NoteSigner::Generate("trenode.test/b")->Sign(Body(5)));
  EXPECT_TRUE(absl::StrContains(Problems(unsigned_log), "does not verify"));
  EXPECT_TRUE(absl::StrContains(Problems(LogOf(5, 5), a_log_.VerifierKey()), "pinned"));
  // The relay could not fetch it, or has raised an alarm about it.
  trenode::v1::NodeLog unreachable;
  unreachable.set_node_id("b");
  unreachable.set_error("connection refused");
  EXPECT_TRUE(absl::StrContains(Problems(unreachable), "could not be fetched"));
  trenode::v1::NodeLog alarmed = LogOf(5, 5);
  alarmed.add_alarms()->set_detail("its log went back");
  EXPECT_TRUE(absl::StrContains(Problems(alarmed), "its log went back"));
}

TEST_F(LogAuditTest, OnlyRecentCosignaturesByOtherNodesWithCheckedKeysCount) {
  // The relay swaps in a key of its own for witness a and cosigns in a's
  // name: it does not verify with the key a's own log key vouches for.
  NoteSigner relay = NoteSigner::Generate("r")->DeriveCosigner("trenode.test/a/witness").value();
  trenode::v1::NodeLog swapped = LogOf(5, 5);
  swapped.clear_cosigned();
  swapped.clear_proofs();
  AddCosignature(swapped, "a", relay, 5, absl::Now());
  EXPECT_TRUE(absl::StrContains(Problems(swapped), "does not verify with its key"))
      << Problems(swapped);
  // A node cosigning its own log is not counted: b's operator holds b's
  // witness key.
  trenode::v1::NodeLog self = LogOf(5, 5);
  self.clear_cosigned();
  self.clear_proofs();
  AddCosignature(self, "b", b_witness_, 5, absl::Now());
  LogAudit audit = AuditNodeLog(self, Witnesses(), "", Now());
  EXPECT_TRUE(audit.cosigned_by.empty());
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(audit.problems, " "), "cosigned by 0 other nodes"));
  // An old cosignature, kept back by an operator who later rewrote the log,
  // is not counted.
  audit = AuditNodeLog(LogOf(5, 5, absl::Now() - absl::Hours(2)), Witnesses(), "", Now());
  EXPECT_TRUE(audit.cosigned_by.empty());
  EXPECT_EQ(audit.ignored.size(), 1u);
  // A witness whose key no log key vouched for is not counted.
  std::map<std::string, std::string> only_b = Witnesses();
  only_b.erase("a");
  audit = AuditNodeLog(LogOf(5, 5), only_b, "", Now());
  EXPECT_TRUE(audit.cosigned_by.empty());
  // A quorum of two needs two distinct other witnesses.
  AuditPolicy two = Now();
  two.quorum = 2;
  trenode::v1::NodeLog twice = LogOf(5, 5);
  AddCosignature(twice, "a", a_witness_, 5, absl::Now());
  EXPECT_FALSE(AuditNodeLog(twice, Witnesses(), "", two).problems.empty());
}

TEST_F(LogAuditTest, AWitnessKeyNoteBindsTheKeyToTheNodesLogKey) {
  std::string note = *WitnessKeyNote(a_log_, "a", a_witness_.VerifierKey());
  EXPECT_EQ(*WitnessKeyFrom(note, a_log_.VerifierKey(), "a"), a_witness_.VerifierKey());
  EXPECT_FALSE(WitnessKeyFrom(note, b_log_.VerifierKey(), "a").ok());  // another log's key
  EXPECT_FALSE(WitnessKeyFrom(note, a_log_.VerifierKey(), "b").ok());  // another node
  // A log key named as the witness key is refused.
  std::string wrong = *WitnessKeyNote(a_log_, "a", a_log_.VerifierKey());
  EXPECT_FALSE(WitnessKeyFrom(wrong, a_log_.VerifierKey(), "a").ok());
}

}  // namespace
}  // namespace trenode::log
