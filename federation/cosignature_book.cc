#include "federation/cosignature_book.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/log/activity_log.h"

namespace trenode::federation {
namespace {
constexpr size_t kMaxCheckpointBytes = 4096;
constexpr size_t kMaxLineBytes = 1024;
constexpr absl::Duration kClockSkew = absl::Minutes(10);
}  // namespace

absl::StatusOr<trenode::v1::AddCosignatureResponse> CosignatureBook::Add(
    const std::string& witness, const trenode::v1::AddCosignatureRequest& request) {
  absl::MutexLock lock(&mu_);
  return AddLocked(witness, request);
}

absl::Status CosignatureBook::Record(const std::string& witness, const std::string& outcome,
                                     const std::string& reason) {
  if (events_ == nullptr) return absl::OkStatus();
  log::ActivityEvent event;
  event.action = "federation.cosignature";
  event.object = absl::StrCat("node/", node_id_);
  event.outcome = outcome;
  event.reason = reason;
  auth::Principal partner{witness, trenode::v1::ROLE_PEER_NODE, auth::Principal::Kind::kNode};
  return events_->Record(partner, std::move(event));
}

absl::StatusOr<trenode::v1::AddCosignatureResponse> CosignatureBook::AddLocked(
    const std::string& witness, const trenode::v1::AddCosignatureRequest& request) {
  if (request.checkpoint().size() > kMaxCheckpointBytes ||
      request.cosignature().size() > kMaxLineBytes || request.witness_key().size() > kMaxLineBytes) {
    return absl::InvalidArgumentError("a checkpoint is at most 4 KiB, a key or line 1 KiB");
  }
  const std::string& line = request.cosignature();
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) {
    return absl::InvalidArgumentError("cosignature: one signature line, ending in a newline");
  }
  absl::StatusOr<log::NoteVerifier> key = log::NoteVerifier::FromVerifierKey(request.witness_key());
  if (!key.ok() || key->type() != log::SignatureType::kCosignatureV1) {
    return absl::InvalidArgumentError(
        "witness_key: a cosigner's verifier key, <name>+<key id>+<base64(0x04 || key)>");
  }
  // Ours, as we signed it, and only our signature kept with it.
  ASSIGN_OR_RETURN(std::string text, own_log_.Verify(request.checkpoint()));
  ASSIGN_OR_RETURN(log::CheckpointBody body, log::ParseCheckpointText(text));
  std::string own_note = request.checkpoint();
  ASSIGN_OR_RETURN(log::Cosigned cosigned, key->VerifyCosignature(own_note + line));
  if (absl::FromUnixSeconds(static_cast<int64_t>(cosigned.time)) > clock_() + kClockSkew) {
    return absl::FailedPreconditionError("the cosignature is dated in the future");
  }

  ASSIGN_OR_RETURN(std::optional<trenode::v1::CosignedCheckpoint> kept,
                   store_->CosignatureBy(witness));
  if (kept && kept->witness_key() != request.witness_key()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", witness, " cosigns with key ", kept->witness_key(),
        "; a change of witness key is made by removing its cosignatures here, not by a call"));
  }
  if (kept && kept->size() > body.size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", witness, " already cosigned this log at size ", kept->size(), ", not ",
        body.size));
  }
  if (kept && kept->size() == body.size && kept->time() > cosigned.time) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", witness, " already cosigned this checkpoint at a later time"));
  }
  trenode::v1::CosignedCheckpoint keep;
  keep.set_witness(witness);
  keep.set_witness_key(request.witness_key());
  keep.set_note(own_note + line);
  keep.set_size(body.size);
  keep.set_time(cosigned.time);
  if (!kept) {
    // Trust on first use: recorded before it is kept.
    RETURN_IF_ERROR(Record(witness, "success",
                           absl::StrCat("witness key pinned: ", request.witness_key())));
  }
  RETURN_IF_ERROR(store_->KeepCosignature(keep));
  trenode::v1::AddCosignatureResponse response;
  response.set_size(body.size);
  return response;
}

absl::StatusOr<trenode::v1::Cosignatures> CosignatureBook::All() {
  ASSIGN_OR_RETURN(std::vector<trenode::v1::CosignedCheckpoint> all, store_->Cosignatures());
  trenode::v1::Cosignatures cosignatures;
  for (auto& one : all) *cosignatures.add_checkpoints() = std::move(one);
  return cosignatures;
}

}  // namespace trenode::federation
