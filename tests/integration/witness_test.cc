// Witnessing between real nodes over mutual TLS on loopback: each node checks
// that its partners' activity logs only grow, cosigns what it verified
// (C2SP tlog-cosignature), and raises an alarm, with the evidence, when a
// partner's log is rewritten. A hostile partner cannot plant cosignatures.
#include <filesystem>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/log/activity_event.h"
#include "node/log/activity_log.h"
#include "node/log/log_audit.h"
#include "node/log/merkle.h"
#include "node/log/signed_note.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/activity_log.grpc.pb.h"
#include "trenode/v1/federation.grpc.pb.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode {
namespace {
using testing::AddPartner;
using testing::TestNode;

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b_ = std::make_unique<TestNode>(
        "site-b", ca_, [](trenode::v1::NodeConfig& config) { AddPartner(config, "site-a"); });
    a_ = std::make_unique<TestNode>("site-a", ca_, [&](trenode::v1::NodeConfig& config) {
      AddPartner(config, "site-b", b_->address());
    });
    // b dials a too, now that a has an address.
    trenode::v1::NodeConfig b_config = b_->config();
    b_config.mutable_federation()->clear_partners();
    AddPartner(b_config, "site-a", a_->address());
    ASSERT_TRUE(b_->server().ReloadPartners(b_config).ok());
  }

  static trenode::v1::NodeInfo Info(const TestNode& node) {
    trenode::v1::NodeInfo info;
    EXPECT_TRUE(trenode::v1::Federation::NewStub(node.Channel())
                    ->GetNodeInfo(node.As("auditor").get(), {}, &info)
                    .ok());
    return info;
  }

  static trenode::v1::Checkpoint CheckpointOf(const TestNode& node) {
    trenode::v1::Checkpoint checkpoint;
    EXPECT_TRUE(trenode::v1::ActivityLog::NewStub(node.Channel())
                    ->GetCheckpoint(node.As("auditor").get(), {}, &checkpoint)
                    .ok());
    return checkpoint;
  }

  static trenode::v1::WitnessedLog SeenFrom(const TestNode& witness, const std::string& node) {
    trenode::v1::WitnessStatus status;
    grpc::Status called = trenode::v1::Federation::NewStub(witness.Channel())
                              ->GetWitnessStatus(witness.As("auditor").get(), {}, &status);
    EXPECT_TRUE(called.ok()) << called.error_message();
    for (const auto& log : status.logs()) {
      if (log.node_id() == node) return log;
    }
    return {};
  }

  static std::vector<trenode::v1::CosignedCheckpoint> CosignaturesAt(const TestNode& node) {
    trenode::v1::Cosignatures cosignatures;
    EXPECT_TRUE(trenode::v1::Federation::NewStub(node.Channel())
                    ->GetCosignatures(node.As("researcher").get(), {}, &cosignatures)
                    .ok());
    return {cosignatures.checkpoints().begin(), cosignatures.checkpoints().end()};
  }

  // Makes `node` log at least `entries` more events (each call is logged).
  static void Busy(const TestNode& node, int entries) {
    auto governance = trenode::v1::Governance::NewStub(node.Channel());
    for (int i = 0; i < entries; ++i) {
      trenode::v1::CreateProjectRequest request;  // refused: no title; logged as allowed
      trenode::v1::Project project;
      governance->CreateProject(node.As("researcher").get(), request, &project);
    }
  }

  pki::KeyAndCertificate ca_ = *pki::CreateCa("test federation", pki::ValidFor(2));
  std::unique_ptr<TestNode> b_, a_;
};

TEST_F(WitnessTest, EachNodeCosignsWhatItVerifiedAndAnAuditorCanCheckEveryLog) {
  a_->server().WitnessPartnersNow();
  b_->server().WitnessPartnersNow();
  trenode::v1::WitnessedLog b_at_a = SeenFrom(*a_, "site-b");
  EXPECT_EQ(b_at_a.log_key(), b_->log_key().VerifierKey());
  EXPECT_GT(b_at_a.size(), 0u);
  EXPECT_TRUE(b_at_a.last_error().empty()) << b_at_a.last_error();
  EXPECT_EQ(b_at_a.alarms_size(), 0);

  // b keeps a's cosignature; it verifies with a's published witness key,
  // and b's own signature is still on it.
  std::vector<trenode::v1::CosignedCheckpoint> at_b = CosignaturesAt(*b_);
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0].witness(), "site-a");
  const std::string a_witness_key = Info(*a_).witness_verifier_key();
  EXPECT_EQ(at_b[0].witness_key(), a_witness_key);
  auto witness = log::NoteVerifier::FromVerifierKey(a_witness_key);
  ASSERT_TRUE(witness.ok());
  auto cosigned = witness->VerifyCosignature(at_b[0].note());
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();
  EXPECT_EQ(log::ParseCheckpointText(cosigned->text)->size, at_b[0].size());
  EXPECT_TRUE(log::NoteVerifier::FromVerifierKey(b_->log_key().VerifierKey())
                  ->Verify(at_b[0].note())
                  .ok());
  // The witness key is not the log key.
  EXPECT_NE(a_witness_key, a_->log_key().VerifierKey());

  // b's log grows; a verifies the growth and cosigns the larger checkpoint.
  const uint64_t first = at_b[0].size();
  Busy(*b_, 5);
  while (CheckpointOf(*b_).size() <= first) absl::SleepFor(absl::Milliseconds(100));
  a_->server().WitnessPartnersNow();
  EXPECT_GT(SeenFrom(*a_, "site-b").size(), first);
  EXPECT_EQ(SeenFrom(*a_, "site-b").alarms_size(), 0);
  EXPECT_GT(CosignaturesAt(*b_)[0].size(), first);

  // The relay hands an auditor both logs as signed, with proofs.
  const uint64_t cosigned_b = CosignaturesAt(*b_)[0].size();
  Busy(*b_, 3);
  while (CheckpointOf(*b_).size() <= cosigned_b) absl::SleepFor(absl::Milliseconds(100));
  trenode::v1::FederationLogs logs;
  ASSERT_TRUE(trenode::v1::Federation::NewStub(a_->Channel())
                  ->GetFederationLogs(a_->As("auditor").get(), {}, &logs)
                  .ok());
  ASSERT_EQ(logs.nodes_size(), 2);
  EXPECT_EQ(logs.nodes(0).node_id(), "site-a");
  EXPECT_EQ(logs.nodes(1).node_id(), "site-b");
  // The auditor holds each node's log key; each witness key is the one
  // that log key signed for.
  std::map<std::string, std::string> log_keys = {{"site-a", a_->log_key().VerifierKey()},
                                                 {"site-b", b_->log_key().VerifierKey()}};
  std::map<std::string, std::string> witness_keys;
  for (const auto& node : logs.nodes()) {
    auto key = log::WitnessKeyFrom(node.witness_key_note(), log_keys[node.node_id()],
                                   node.node_id());
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(*key, node.witness_key());
    witness_keys[node.node_id()] = *key;
  }
  const log::AuditPolicy now{absl::Now()};
  for (const auto& node : logs.nodes()) {
    log::LogAudit audit = log::AuditNodeLog(node, witness_keys, log_keys[node.node_id()], now);
    EXPECT_TRUE(audit.problems.empty()) << node.node_id() << ": " << audit.problems[0];
    EXPECT_EQ(audit.cosigned_by.size(), 1u) << node.node_id();
  }
  // b's log grew after a cosigned it: its proof is checked, and a relay
  // that alters it is caught.
  trenode::v1::NodeLog b_log = logs.nodes(1);
  ASSERT_EQ(b_log.cosigned(0).size(), cosigned_b);
  ASSERT_GT(b_log.proofs(0).hashes_size(), 0);
  std::string& hash = *b_log.mutable_proofs(0)->mutable_hashes(0);
  hash[0] = static_cast<char>(hash[0] ^ 1);
  EXPECT_FALSE(log::AuditNodeLog(b_log, witness_keys, "", now).problems.empty());
  EXPECT_FALSE(log::AuditNodeLog(logs.nodes(1), witness_keys, a_->log_key().VerifierKey(), now)
                   .problems.empty());
  // Only auditors and node admins read what the witness saw.
  trenode::v1::WitnessStatus status;
  EXPECT_EQ(trenode::v1::Federation::NewStub(a_->Channel())
                ->GetWitnessStatus(a_->As("researcher").get(), {}, &status)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(WitnessTest, AWitnessRaisesAnAlarmWhenAPartnersLogIsRewritten) {
  a_->server().WitnessPartnersNow();
  const trenode::v1::WitnessedLog before = SeenFrom(*a_, "site-b");
  ASSERT_GT(before.size(), 0u);
  ASSERT_EQ(CosignaturesAt(*b_).size(), 1u);

  // b's operator wipes its log, database and checkpoint copy alike (the node
  // itself would refuse a database behind its checkpoint copy), keeps its
  // key, and starts again: a new history under the same key.
  b_->Restart([&] {
    std::filesystem::path db = b_->config().database_path();
    for (const char* suffix : {"", "-wal", "-shm", ".checkpoint"}) {
      std::filesystem::remove(db.string() + suffix);
    }
  });
  Busy(*b_, static_cast<int>(before.size()) + 5);
  while (CheckpointOf(*b_).size() <= before.size()) absl::SleepFor(absl::Milliseconds(100));
  a_->server().WitnessPartnersNow();

  trenode::v1::WitnessedLog after = SeenFrom(*a_, "site-b");
  ASSERT_EQ(after.alarms_size(), 1);
  EXPECT_TRUE(absl::StrContains(after.alarms(0).detail(), "is not proven to extend"))
      << after.alarms(0).detail();
  // The evidence: two checkpoints, both signed by b's key, that cannot both
  // be true of one append-only log.
  auto b_key = log::NoteVerifier::FromVerifierKey(b_->log_key().VerifierKey());
  EXPECT_TRUE(b_key->Verify(after.alarms(0).earlier_checkpoint()).ok());
  EXPECT_TRUE(b_key->Verify(after.alarms(0).later_checkpoint()).ok());
  // What was verified stands; nothing more of b is cosigned.
  EXPECT_EQ(after.size(), before.size());
  EXPECT_EQ(after.root(), before.root());
  EXPECT_TRUE(CosignaturesAt(*b_).empty());
  // Checked again, the alarm is not repeated.
  a_->server().WitnessPartnersNow();
  EXPECT_EQ(SeenFrom(*a_, "site-b").alarms_size(), 1);

  // a's own log records the alarm.
  trenode::v1::GetEntriesRequest entries;
  entries.set_action("federation.witness.alarm");
  auto auditor = a_->As("auditor");
  auto reader =
      trenode::v1::ActivityLog::NewStub(a_->Channel())->GetEntries(auditor.get(), entries);
  trenode::v1::LogEntry entry;
  int alarms = 0;
  while (reader->Read(&entry)) {
    auto event = log::ParseLeaf(entry.leaf());
    ASSERT_TRUE(event.ok());
    EXPECT_EQ(event->object, "node/site-b");
    EXPECT_EQ(event->actor, "node/site-a");
    ++alarms;
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(alarms, 1);
}

TEST_F(WitnessTest, AHostilePartnerCannotPlantCosignatures) {
  auto as_a = [&] { return trenode::v1::Federation::NewStub(b_->Channel(&a_->node_certificate())); };
  trenode::v1::Checkpoint genuine = CheckpointOf(*b_);
  std::string text = genuine.note().substr(0, genuine.note().find("\n\n") + 1);
  log::NoteSigner forger = log::NoteSigner::Generate("forger")->DeriveCosigner("site-a/witness").value();
  auto add = [&](const trenode::v1::AddCosignatureRequest& request) {
    grpc::ClientContext context;
    trenode::v1::AddCosignatureResponse response;
    return as_a()->AddCosignature(&context, request, &response);
  };

  // A checkpoint b never signed.
  auto other_log = log::NoteSigner::Generate(b_->log_key().name());
  trenode::v1::AddCosignatureRequest request;
  request.set_checkpoint(*other_log->Sign("trenode.test/site-b\n999\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"));
  request.set_cosignature(*forger.Cosign("trenode.test/site-b\n999\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 1700000000));
  request.set_witness_key(forger.VerifierKey());
  EXPECT_EQ(add(request).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // b's checkpoint, but a cosignature by another key than the one given.
  log::NoteSigner other = log::NoteSigner::Generate("x")->DeriveCosigner("site-a/witness").value();
  request.set_checkpoint(genuine.note());
  request.set_cosignature(*other.Cosign(text, 1700000000));
  EXPECT_EQ(add(request).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // A log key offered as a witness key.
  request.set_cosignature(*forger.Cosign(text, 1700000000));
  request.set_witness_key(a_->log_key().VerifierKey());
  EXPECT_EQ(add(request).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Dated far in the future.
  request.set_witness_key(forger.VerifierKey());
  request.set_cosignature(*forger.Cosign(text, 4102444800));
  EXPECT_EQ(add(request).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(CosignaturesAt(*b_).empty());

  // Once a has cosigned with its witness key, that key is pinned: a forged
  // cosignature under another key in a's name is refused.
  a_->server().WitnessPartnersNow();
  ASSERT_EQ(CosignaturesAt(*b_).size(), 1u);
  request.set_cosignature(*forger.Cosign(text, 1700000000));
  EXPECT_EQ(add(request).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(CosignaturesAt(*b_)[0].witness_key(), Info(*a_).witness_verifier_key());

  // People may read cosignatures but never add them.
  trenode::v1::AddCosignatureResponse response;
  EXPECT_EQ(trenode::v1::Federation::NewStub(b_->Channel())
                ->AddCosignature(b_->As("node_admin").get(), request, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace trenode
