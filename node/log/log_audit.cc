#include "node/log/log_audit.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"
#include "node/log/activity_log.h"
#include "node/log/merkle.h"
#include "node/log/signed_note.h"

namespace trenode::log {
namespace {
constexpr size_t kMaxProofHashes = 128;

// Why the cosigned checkpoint `cosigned` is not a prefix of `current`, or "".
std::string NotAPrefix(const CheckpointBody& cosigned, const CheckpointBody& current,
                       const trenode::v1::ConsistencyProof& proof) {
  if (cosigned.size == 0) return "";  // the empty tree is a prefix of every tree
  if (cosigned.size > current.size) {
    return absl::StrCat("it is larger (", cosigned.size, ") than the current checkpoint");
  }
  if (cosigned.size == current.size) {
    return cosigned.root == current.root ? "" : "same size, different root: a fork";
  }
  if (proof.from_size() != cosigned.size || proof.to_size() != current.size ||
      proof.hashes_size() > static_cast<int>(kMaxProofHashes)) {
    return "no consistency proof for its size";
  }
  std::vector<Hash> hashes;
  for (const std::string& bytes : proof.hashes()) {
    std::optional<Hash> hash = HashFromBytes(bytes);
    if (!hash) return "a malformed consistency proof";
    hashes.push_back(*hash);
  }
  absl::Status consistent =
      VerifyConsistency(cosigned.size, current.size, hashes, cosigned.root, current.root);
  return consistent.ok() ? "" : absl::StrCat("not a prefix: ", consistent.message());
}
constexpr char kWitnessKeyHeader[] = "trenode-witness-key/v1\n";
}  // namespace

absl::StatusOr<std::string> WitnessKeyNote(const NoteSigner& log_key, const std::string& node_id,
                                           const std::string& witness_key) {
  return log_key.Sign(absl::StrCat(kWitnessKeyHeader, node_id, "\n", witness_key, "\n"));
}

absl::StatusOr<std::string> WitnessKeyFrom(const std::string& note, const std::string& log_key,
                                           const std::string& node_id) {
  ASSIGN_OR_RETURN(NoteVerifier verifier, NoteVerifier::FromVerifierKey(log_key));
  ASSIGN_OR_RETURN(std::string text, verifier.Verify(note));
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  // header, node, key, and the empty string after the last newline
  if (lines.size() != 4 || absl::StrCat(lines[0], "\n") != kWitnessKeyHeader ||
      lines[1] != node_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("the witness key note is not one of node ", node_id));
  }
  ASSIGN_OR_RETURN(NoteVerifier witness, NoteVerifier::FromVerifierKey(lines[2]));
  if (witness.type() != SignatureType::kCosignatureV1) {
    return absl::InvalidArgumentError("the witness key note names no cosigner key");
  }
  return lines[2];
}

LogAudit AuditNodeLog(const trenode::v1::NodeLog& log,
                      const std::map<std::string, std::string>& witness_keys,
                      const std::string& pinned_log_key, const AuditPolicy& policy) {
  LogAudit audit;
  audit.node_id = PrintableText(log.node_id(), 64);
  if (!log.error().empty()) {
    audit.problems.push_back(
        absl::StrCat("could not be fetched: ", PrintableText(log.error(), 300)));
    return audit;
  }
  if (!pinned_log_key.empty() && log.log_key() != pinned_log_key) {
    audit.problems.push_back("its log key is not the one pinned for it");
    return audit;
  }
  absl::StatusOr<NoteVerifier> log_key = NoteVerifier::FromVerifierKey(log.log_key());
  if (!log_key.ok() || log_key->type() != SignatureType::kEd25519) {
    audit.problems.push_back("its log key is not a note verifier key");
    return audit;
  }
  absl::StatusOr<std::string> text = log_key->Verify(log.checkpoint());
  absl::StatusOr<CheckpointBody> current =
      text.ok() ? ParseCheckpointText(*text) : absl::StatusOr<CheckpointBody>(text.status());
  if (!current.ok()) {
    audit.problems.push_back(absl::StrCat("its checkpoint does not verify: ",
                                          PrintableText(current.status().message(), 200)));
    return audit;
  }
  audit.size = current->size;
  audit.root = absl::Base64Escape(HashBytes(current->root));
  for (const auto& alarm : log.alarms()) {
    audit.problems.push_back(absl::StrCat("the relaying node raised an alarm about it: ",
                                          PrintableText(alarm.detail(), 300)));
  }
  std::set<std::string> counted;
  for (int i = 0; i < log.cosigned_size(); ++i) {
    const trenode::v1::CosignedCheckpoint& one = log.cosigned(i);
    const std::string witness = PrintableText(one.witness(), 64);
    if (one.witness() == log.node_id()) {
      audit.ignored.push_back(absl::StrCat(witness, ": a node does not witness its own log"));
      continue;
    }
    auto checked = witness_keys.find(one.witness());
    if (checked == witness_keys.end()) {
      audit.ignored.push_back(absl::StrCat(witness, ": no witness key checked for it"));
      continue;
    }
    absl::StatusOr<NoteVerifier> witness_key = NoteVerifier::FromVerifierKey(checked->second);
    absl::StatusOr<Cosigned> cosigned =
        witness_key.ok() ? witness_key->VerifyCosignature(one.note())
                         : absl::StatusOr<Cosigned>(witness_key.status());
    absl::StatusOr<std::string> signed_text = log_key->Verify(one.note());
    if (!cosigned.ok() || !signed_text.ok() || *signed_text != cosigned->text) {
      audit.problems.push_back(
          absl::StrCat("a cosignature in the name of ", witness, " does not verify with its key"));
      continue;
    }
    absl::Time when = absl::FromUnixSeconds(static_cast<int64_t>(cosigned->time));
    if (when < policy.now - policy.max_age || when > policy.now + absl::Minutes(10)) {
      audit.ignored.push_back(absl::StrCat(witness, ": cosigned at ", absl::FormatTime(when),
                                           ", not within ", absl::FormatDuration(policy.max_age)));
      continue;
    }
    absl::StatusOr<CheckpointBody> body = ParseCheckpointText(cosigned->text);
    if (!body.ok()) {
      audit.problems.push_back(absl::StrCat("the checkpoint ", witness, " cosigned is malformed"));
      continue;
    }
    trenode::v1::ConsistencyProof proof = i < log.proofs_size() ? log.proofs(i)
                                                                : trenode::v1::ConsistencyProof();
    std::string why = NotAPrefix(*body, *current, proof);
    if (!why.empty()) {
      audit.problems.push_back(
          absl::StrCat("what ", witness, " cosigned at size ", body->size, " is ", why));
      continue;
    }
    if (counted.insert(one.witness()).second) {
      audit.cosigned_by.push_back(absl::StrCat(witness, "@", body->size));
    }
  }
  if (static_cast<int>(counted.size()) < policy.quorum) {
    audit.problems.push_back(absl::StrCat("cosigned by ", counted.size(), " other node",
                                          counted.size() == 1 ? "" : "s", ", ", policy.quorum,
                                          " needed"));
  }
  return audit;
}

}  // namespace trenode::log
