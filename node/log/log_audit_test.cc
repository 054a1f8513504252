#include "node/log/log_audit.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/log/activity_log.h"
#include "node/log/merkle.h"
#include "node/log/signed_note.h"

namespace trenode::log {
namespace {

class LogAuditTest : public ::testing::Test {
 protected:
  // Node "b"'s log at `size` leaves "0".."size-1", signed; witness "a"
  // cosigns it when `cosign`.
  trenode::v1::NodeLog LogOf(uint64_t size, uint64_t cosigned_size) {
    trenode::v1::NodeLog log;
    log.set_node_id("b");
    log.set_log_key(b_log_.VerifierKey());
    log.set_witness_key(b_witness_.VerifierKey());
    log.set_checkpoint(*b_log_.Sign(Body(size)));
    trenode::v1::CosignedCheckpoint& one = *log.add_cosigned();
    one.set_witness("a");
    one.set_witness_key(a_witness_.VerifierKey());
    one.set_size(cosigned_size);
    one.set_note(*b_log_.Sign(Body(cosigned_size)) + *a_witness_.Cosign(Body(cosigned_size), 1));
    log.add_proofs()->set_from_size(cosigned_size);
    log.mutable_proofs(0)->set_to_size(size);
    return log;
  }
  static std::string Body(uint64_t size) {
    CompactRange range;
    for (uint64_t i = 0; i < size; ++i) range.Append(LeafHash(std::to_string(i)));
    return CheckpointText("trenode.test/b", size, range.Root());
  }
  std::map<std::string, std::string> Witnesses() const {
    return {{"a", a_witness_.VerifierKey()}, {"b", b_witness_.VerifierKey()}};
  }

  NoteSigner b_log_ = *NoteSigner::Generate("trenode.test/b");
  NoteSigner b_witness_ = b_log_.DeriveCosigner("trenode.test/b/witness");
  NoteSigner a_witness_ = NoteSigner::Generate("trenode.test/a")->DeriveCosigner("trenode.test/a/witness");
};

TEST_F(LogAuditTest, ACosignedCurrentCheckpointChecksOut) {
  LogAudit audit = AuditNodeLog(LogOf(5, 5), Witnesses(), "");
  EXPECT_TRUE(audit.problems.empty()) << audit.problems[0];
  EXPECT_EQ(audit.size, 5u);
  EXPECT_EQ(audit.cosigned_by, std::vector<std::string>{"a@5"});
  // And with the log key pinned.
  EXPECT_TRUE(AuditNodeLog(LogOf(5, 5), Witnesses(), b_log_.VerifierKey()).problems.empty());
}

TEST_F(LogAuditTest, EveryBrokenPromiseIsReported) {
  auto problem = [&](const trenode::v1::NodeLog& log, const std::string& pinned = "") {
    LogAudit audit = AuditNodeLog(log, Witnesses(), pinned);
    EXPECT_TRUE(audit.cosigned_by.empty());
    return audit.problems.empty() ? std::string() : audit.problems[0];
  };
  // A fork: what a cosigned at size 5 is not the current tree of size 5.
  trenode::v1::NodeLog fork = LogOf(5, 5);
  fork.set_checkpoint(*b_log_.Sign(CheckpointText("trenode.test/b", 5, LeafHash("other"))));
  EXPECT_TRUE(absl::StrContains(problem(fork), "a fork")) << problem(fork);
  // Cosigned at a larger size than the current one: rolled back.
  EXPECT_TRUE(absl::StrContains(problem(LogOf(3, 5)), "larger"));
  // Smaller, with an empty proof.
  EXPECT_TRUE(absl::StrContains(problem(LogOf(5, 3)), "not a prefix"));
  // A cosignature under a key the witness does not report for itself.
  trenode::v1::NodeLog planted = LogOf(5, 5);
  NoteSigner other = NoteSigner::Generate("x")->DeriveCosigner("trenode.test/a/witness");
  planted.mutable_cosigned(0)->set_witness_key(other.VerifierKey());
  planted.mutable_cosigned(0)->set_note(*b_log_.Sign(Body(5)) + *other.Cosign(Body(5), 1));
  EXPECT_TRUE(absl::StrContains(problem(planted), "does not itself report"));
  // A cosignature line that does not verify.
  trenode::v1::NodeLog forged = LogOf(5, 5);
  forged.mutable_cosigned(0)->set_note(*b_log_.Sign(Body(5)) + *other.Cosign(Body(5), 1));
  EXPECT_TRUE(absl::StrContains(problem(forged), "does not verify"));
  // A checkpoint not signed by the log key, or a log key not the pinned one.
  trenode::v1::NodeLog unsigned_log = LogOf(5, 5);
  unsigned_log.set_checkpoint(*NoteSigner::Generate("trenode.test/b")->Sign(Body(5)));
  EXPECT_TRUE(absl::StrContains(problem(unsigned_log), "does not verify"));
  EXPECT_TRUE(absl::StrContains(problem(LogOf(5, 5), a_witness_.VerifierKey()), "pinned"));
  // Nobody cosigned.
  trenode::v1::NodeLog alone = LogOf(5, 5);
  alone.clear_cosigned();
  EXPECT_TRUE(absl::StrContains(problem(alone), "no partner has cosigned"));
  // The relay could not fetch it.
  trenode::v1::NodeLog unreachable;
  unreachable.set_node_id("b");
  unreachable.set_error("connection refused");
  EXPECT_TRUE(absl::StrContains(problem(unreachable), "could not be fetched"));
}

}  // namespace
}  // namespace trenode::log
