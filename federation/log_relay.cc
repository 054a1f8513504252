#include "federation/log_relay.h"

#include <algorithm>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"

namespace trenode::federation {
namespace {
constexpr absl::Duration kCallDeadline = absl::Seconds(5);
constexpr absl::Duration kPartnerBudget = absl::Seconds(10);
constexpr int kMaxCosignatures = 16;
}  // namespace

absl::StatusOr<trenode::v1::FederationLogs> LogRelay::Collect() {
  std::vector<trenode::v1::Partner> partners = partners_->All();
  std::vector<trenode::v1::NodeLog> theirs(partners.size());
  std::vector<std::thread> asking;
  for (size_t i = 0; i < partners.size(); ++i) {
    asking.emplace_back([&, i] { theirs[i] = OfPartner(partners[i]); });
  }
  trenode::v1::FederationLogs logs;
  trenode::v1::NodeLog& mine = *logs.add_nodes();
  trenode::v1::NodeInfo info = own_.info();
  mine.set_node_id(info.node_id());
  mine.set_log_key(info.log_verifier_key());
  mine.set_witness_key(info.witness_verifier_key());
  mine.set_witness_key_note(info.witness_key_note());
  absl::StatusOr<trenode::v1::Checkpoint> current = own_.checkpoint();
  absl::StatusOr<trenode::v1::Cosignatures> cosigned =
      current.ok() ? book_->All() : absl::StatusOr<trenode::v1::Cosignatures>(current.status());
  if (cosigned.ok()) {
    mine.set_checkpoint(current->note());
    for (const auto& one : cosigned->checkpoints()) {
      trenode::v1::ConsistencyProof& proof = *mine.add_proofs();
      proof.set_from_size(one.size());
      proof.set_to_size(current->size());
      if (one.size() > 0 && one.size() < current->size()) {
        absl::StatusOr<std::vector<log::Hash>> hashes =
            own_.consistency(one.size(), current->size());
        if (!hashes.ok()) {
          mine.set_error(std::string(hashes.status().message()));
          break;
        }
        for (const log::Hash& hash : *hashes) proof.add_hashes(log::HashBytes(hash));
      }
      *mine.add_cosigned() = one;
    }
  } else {
    mine.set_error(std::string(cosigned.status().message()));
  }
  for (std::thread& thread : asking) thread.join();
  // What this node, as a witness, found wrong with each partner's log.
  std::map<std::string, std::vector<trenode::v1::WitnessAlarm>> alarms;
  ASSIGN_OR_RETURN(std::vector<trenode::v1::WitnessedLog> witnessed, witnessed_->All());
  for (auto& log : witnessed) {
    for (auto& alarm : *log.mutable_alarms()) {
      alarm.clear_earlier_checkpoint();
      alarm.clear_later_checkpoint();
      alarms[log.node_id()].push_back(std::move(alarm));
    }
  }
  for (auto& log : theirs) {
    for (auto& alarm : alarms[log.node_id()]) *log.add_alarms() = std::move(alarm);
    *logs.add_nodes() = std::move(log);
  }
  return logs;
}

trenode::v1::NodeLog LogRelay::OfPartner(const trenode::v1::Partner& partner) {
  trenode::v1::NodeLog log;
  log.set_node_id(partner.node_id());
  const absl::Time until = absl::Now() + kPartnerBudget;
  // Each call within 5 s and what is left of the partner's budget.
  auto deadline = [&] { return std::min(kCallDeadline, until - absl::Now()); };
  auto fail = [&](absl::string_view step, const absl::Status& status) {
    trenode::v1::NodeLog failed;
    failed.set_node_id(partner.node_id());
    failed.set_error(absl::StrCat(step, ": ", PrintableText(status.message(), 300)));
    return failed;
  };
  absl::StatusOr<trenode::v1::NodeInfo> info = caller_->GetNodeInfo(partner, deadline());
  if (!info.ok()) return fail("asking for its node info", info.status());
  log.set_log_key(info->log_verifier_key());
  log.set_witness_key(info->witness_verifier_key());
  log.set_witness_key_note(info->witness_key_note());
  absl::StatusOr<trenode::v1::Checkpoint> checkpoint = caller_->GetCheckpoint(partner,
                                                                              deadline());
  if (!checkpoint.ok()) return fail("asking for its checkpoint", checkpoint.status());
  log.set_checkpoint(checkpoint->note());
  absl::StatusOr<trenode::v1::Cosignatures> cosigned =
      caller_->GetCosignatures(partner, deadline());
  if (!cosigned.ok()) return fail("asking for its cosignatures", cosigned.status());
  int kept = 0;
  for (const auto& one : cosigned->checkpoints()) {
    if (++kept > kMaxCosignatures) break;
    trenode::v1::ConsistencyProof proof;
    proof.set_from_size(one.size());
    proof.set_to_size(checkpoint->size());
    if (one.size() > 0 && one.size() < checkpoint->size()) {
      trenode::v1::GetConsistencyProofRequest ask;
      ask.set_from_size(one.size());
      ask.set_to_size(checkpoint->size());
      absl::StatusOr<trenode::v1::ConsistencyProof> answer =
          caller_->GetConsistencyProof(partner, ask, deadline());
      if (!answer.ok()) return fail("asking for a consistency proof", answer.status());
      proof = *answer;
    }
    *log.add_proofs() = std::move(proof);
    *log.add_cosigned() = one;
  }
  return log;
}

}  // namespace trenode::federation
