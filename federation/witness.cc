#include "federation/witness.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "node/common/dates.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"
#include "node/log/activity_log.h"
#include "node/log/merkle.h"

namespace trenode::federation {
namespace {
constexpr absl::Duration kCallDeadline = absl::Seconds(5);
// A checkpoint is a few short lines; more is kept as evidence no further.
constexpr size_t kMaxEvidenceBytes = 4096;
constexpr int kUnprovenChecks = 5;

// Errors that mean no answer (worth retrying), not the partner's refusal.
bool NoAnswer(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsResourceExhausted(status) || absl::IsCancelled(status);
}

std::string Evidence(const std::string& note) {
  return note.size() <= kMaxEvidenceBytes ? note : "";
}

std::string Short(const log::Hash& root) {
  return absl::Base64Escape(log::HashBytes(root)).substr(0, 12);
}

// A partner's words, fit to keep.
std::string Said(const absl::Status& status) {
  return PrintableText(status.message(), 300);
}
}  // namespace

Witness::Witness(std::string node_id, log::NoteSigner cosigner, PartnerDirectory* partners,
                 PartnerCaller* caller, WitnessStore* store, log::EventSink* events, Clock clock)
    : node_id_(std::move(node_id)),
      cosigner_(std::move(cosigner)),
      partners_(partners),
      caller_(caller),
      store_(store),
      events_(events),
      clock_(std::move(clock)) {}

Witness::~Witness() { Stop(); }

void Witness::Start(absl::Duration interval) {
  {
    absl::MutexLock lock(&schedule_mu_);
    interval_ = interval;
  }
  thread_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&schedule_mu_);
        auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(schedule_mu_) {
          return wake_ || stop_.HasBeenNotified();
        };
        schedule_mu_.AwaitWithTimeout(absl::Condition(&woken), interval_);
        wake_ = false;
      }
      if (stop_.HasBeenNotified()) return;
      CheckAll();
    }
  });
}

void Witness::Reschedule(absl::Duration interval) {
  absl::MutexLock lock(&schedule_mu_);
  interval_ = interval;
  wake_ = true;
}

void Witness::Stop() {
  if (!stop_.HasBeenNotified()) {
    stop_.Notify();
    absl::MutexLock lock(&schedule_mu_);
    wake_ = true;  // wakes the loop to see the stop
  }
  if (thread_.joinable()) thread_.join();
}

void Witness::CheckAll() {
  for (const trenode::v1::Partner& partner : partners_->All()) {
    if (stop_.HasBeenNotified()) return;
    Check(partner).IgnoreError();  // kept as the partner's status or alarm
  }
}

absl::Status Witness::Check(const trenode::v1::Partner& partner) {
  absl::MutexLock lock(&mu_);
  return CheckLocked(partner);
}

absl::Status Witness::CheckLocked(const trenode::v1::Partner& partner) {
  const std::string& id = partner.node_id();
  absl::StatusOr<trenode::v1::NodeInfo> info = caller_->GetNodeInfo(partner, kCallDeadline);
  if (!info.ok()) {
    return Unfinished(id, absl::Status(info.status().code(),
                                       absl::StrCat("asking for its node info: ",
                                                    Said(info.status()))));
  }
  ASSIGN_OR_RETURN(std::optional<Witnessed> seen, store_->Seen(id));
  Witnessed now;
  if (seen) {
    now = *seen;
  } else {
    now.log.set_node_id(id);
    now.log.set_log_key(info->log_verifier_key());
  }
  if (info->log_verifier_key() != now.log.log_key()) {
    return Alarm(id, "key-changed",
                 absl::StrCat("its log key changed from ", PrintableText(now.log.log_key(), 200),
                              " to ", PrintableText(info->log_verifier_key(), 200)),
                 now.checkpoint, "");
  }
  absl::StatusOr<log::NoteVerifier> verifier = log::NoteVerifier::FromVerifierKey(now.log.log_key());
  if (!verifier.ok() || verifier->type() != log::SignatureType::kEd25519) {
    return Unfinished(id, absl::FailedPreconditionError(absl::StrCat(
                              "its log key ", PrintableText(now.log.log_key(), 200),
                              " is not a note verifier key")));
  }
  absl::StatusOr<trenode::v1::Checkpoint> checkpoint = caller_->GetCheckpoint(partner,
                                                                              kCallDeadline);
  if (!checkpoint.ok()) {
    return Unfinished(id, absl::Status(checkpoint.status().code(),
                                       absl::StrCat("asking for its checkpoint: ",
                                                    Said(checkpoint.status()))));
  }
  const std::string& note = checkpoint->note();
  absl::StatusOr<std::string> text = verifier->Verify(note);
  if (!text.ok()) {
    return Alarm(id, "unsigned",
                 absl::StrCat("its checkpoint is not signed by its log key: ", Said(text.status())),
                 now.checkpoint, Evidence(note));
  }
  absl::StatusOr<log::CheckpointBody> body = log::ParseCheckpointText(*text);
  if (!body.ok()) {
    return Alarm(id, "malformed",
                 absl::StrCat("its signed checkpoint is malformed: ", Said(body.status())),
                 now.checkpoint, Evidence(note));
  }
  if (body->origin != verifier->name()) {
    return Alarm(id, "origin",
                 absl::StrCat("its checkpoint names the log \"", PrintableText(body->origin, 200),
                              "\", its key ", verifier->name()),
                 now.checkpoint, Evidence(note));
  }
  const uint64_t before = now.log.size();
  std::optional<log::Hash> before_root = log::HashFromBytes(now.log.root());
  if (seen && before > 0 && before_root) {
    if (body->size < before) {
      return Alarm(id, "went-back",
                   absl::StrCat("its log went back: size ", body->size, " after ", before,
                                " was verified"),
                   now.checkpoint, Evidence(note));
    }
    if (body->size == before && body->root != *before_root) {
      return Alarm(id, "forked",
                   absl::StrCat("its log forked: at size ", before, " the root was ",
                                Short(*before_root), ", now ", Short(body->root)),
                   now.checkpoint, Evidence(note));
    }
    if (body->size > before) {
      trenode::v1::GetConsistencyProofRequest ask;
      ask.set_from_size(before);
      ask.set_to_size(body->size);
      absl::StatusOr<trenode::v1::ConsistencyProof> proof =
          caller_->GetConsistencyProof(partner, ask, kCallDeadline);
      if (!proof.ok() && !NoAnswer(proof.status())) {
        return Alarm(id, "proof-refused",
                     absl::StrCat("it refused a proof that its checkpoint at size ", body->size,
                                  " extends the one at size ", before, " verified before: ",
                                  Said(proof.status())),
                     now.checkpoint, Evidence(note));
      }
      if (!proof.ok()) {
        // Kept before anything else is done, so that neither a restart nor
        // a failure below forgets this check.
        ++now.unproven_checks;
        RETURN_IF_ERROR(store_->Save(now));
        if (now.unproven_checks >= kUnprovenChecks) {
          return Alarm(id, "unproven",
                       absl::StrCat("for ", now.unproven_checks,
                                    " checks since a larger one was last proven it showed a larger "
                                    "checkpoint (now size ",
                                    body->size, ") but gave no proof that it extends the one at "
                                    "size ",
                                    before, ": ", Said(proof.status())),
                       now.checkpoint, Evidence(note));
        }
        return Unfinished(id, absl::Status(proof.status().code(),
                                           absl::StrCat("asking for a consistency proof from ",
                                                        before, " to ", body->size, ": ",
                                                        Said(proof.status()))));
      }
      std::vector<log::Hash> hashes;
      bool well_formed = proof->hashes_size() <= 128;
      for (const std::string& bytes : proof->hashes()) {
        std::optional<log::Hash> hash = log::HashFromBytes(bytes);
        if (!hash) well_formed = false;
        if (hash) hashes.push_back(*hash);
      }
      absl::Status consistent =
          well_formed ? log::VerifyConsistency(before, body->size, hashes, *before_root, body->root)
                      : absl::InvalidArgumentError("the proof's hashes are malformed");
      if (!consistent.ok()) {
        return Alarm(id, "not-extension",
                     absl::StrCat("its checkpoint at size ", body->size,
                                  " is not proven to extend the one at size ", before,
                                  " verified before: ", Said(consistent)),
                     now.checkpoint, Evidence(note));
      }
    }
  }
  // Consistent with all that was verified: keep it, then cosign it; a run
  // of alarms ends.
  RETURN_IF_ERROR(store_->SetAlarmRun(id, ""));
  // The count of unproven larger checkpoints ends only when a larger one is
  // proven (or there was nothing to prove against): showing the old
  // checkpoint again between unproven ones does not reset it.
  if (!(seen && before > 0 && before_root) || body->size > before) now.unproven_checks = 0;
  const absl::Time at = clock_();
  now.log.set_size(body->size);
  now.log.set_root(log::HashBytes(body->root));
  *now.log.mutable_checked() = ToTimestamp(at);
  now.log.clear_last_error();
  now.checkpoint = note;
  ASSIGN_OR_RETURN(std::string cosignature,
                   cosigner_.Cosign(*text, static_cast<uint64_t>(absl::ToUnixSeconds(at))));
  trenode::v1::AddCosignatureRequest give;
  give.set_checkpoint(note);
  give.set_cosignature(cosignature);
  give.set_witness_key(cosigner_.VerifierKey());
  absl::StatusOr<trenode::v1::AddCosignatureResponse> given =
      caller_->AddCosignature(partner, give, kCallDeadline);
  if (!given.ok()) {
    now.log.set_last_error(
        absl::StrCat("it did not take this node's cosignature: ", Said(given.status())));
  }
  RETURN_IF_ERROR(store_->Save(now));
  return given.ok() ? absl::OkStatus()
                    : absl::Status(given.status().code(), now.log.last_error());
}

absl::Status Witness::Alarm(const std::string& node_id, const std::string& kind,
                            const std::string& detail, const std::string& earlier,
                            const std::string& later) {
  // The same kind of alarm in a row is kept once (across restarts: the run
  // is in the store); a partner that stays inconsistent keeps being checked
  // against the last checkpoint verified.
  ASSIGN_OR_RETURN(std::string run, store_->AlarmRun(node_id));
  if (run != kind) {
    trenode::v1::WitnessAlarm alarm;
    *alarm.mutable_raised() = ToTimestamp(clock_());
    alarm.set_detail(detail);
    alarm.set_earlier_checkpoint(earlier);
    alarm.set_later_checkpoint(later);
    RETURN_IF_ERROR(store_->Raise(node_id, alarm));
    if (events_ != nullptr) {
      log::ActivityEvent event;
      event.action = "federation.witness.alarm";
      event.object = absl::StrCat("node/", node_id);
      event.outcome = "failure";
      event.reason = detail;
      auth::Principal self{node_id_, trenode::v1::ROLE_NODE_ADMIN, auth::Principal::Kind::kNode};
      RETURN_IF_ERROR(events_->Record(self, std::move(event)));
    }
    // Only once both are kept: a failed write is tried again next time.
    RETURN_IF_ERROR(store_->SetAlarmRun(node_id, kind));
  }
  return absl::FailedPreconditionError(absl::StrCat("node ", node_id, ": ", detail));
}

absl::Status Witness::Unfinished(const std::string& node_id, absl::Status why) {
  absl::StatusOr<std::optional<Witnessed>> seen = store_->Seen(node_id);
  if (seen.ok() && seen->has_value()) {
    Witnessed kept = **seen;
    kept.log.set_last_error(std::string(why.message()));
    store_->Save(kept).IgnoreError();  // the status is what the caller needs
  }
  return why;
}

absl::StatusOr<trenode::v1::WitnessStatus> Witness::Status() {
  ASSIGN_OR_RETURN(std::vector<trenode::v1::WitnessedLog> logs, store_->All());
  trenode::v1::WitnessStatus status;
  for (auto& log : logs) *status.add_logs() = std::move(log);
  return status;
}

}  // namespace trenode::federation
