// LogRelay: for an auditor, this node's and every partner's current signed
// checkpoint, the cosignatures each node collected, and the proofs that each
// cosigned checkpoint is a prefix of the current one, passed on as signed so
// that the auditor verifies them (trectl federation logs --all); nothing in
// it need be trusted to this node. Each partner is asked within 10 s in all
// (in parallel), and at most 16 of its cosignatures are passed on; a partner
// that does not answer in time is an error entry. Thread-safe.
#ifndef TRENODE_FEDERATION_LOG_RELAY_H_
#define TRENODE_FEDERATION_LOG_RELAY_H_

#include <functional>
#include <string>
#include <vector>

#include "federation/cosignature_book.h"
#include "federation/partner_caller.h"
#include "federation/partner_directory.h"
#include "node/log/merkle.h"

namespace trenode::federation {

struct OwnLog {
  std::function<trenode::v1::NodeInfo()> info;
  // The latest signed checkpoint.
  std::function<absl::StatusOr<trenode::v1::Checkpoint>()> checkpoint;
  std::function<absl::StatusOr<std::vector<log::Hash>>(uint64_t, uint64_t)> consistency;
};

class LogRelay {
 public:
  // `witnessed`: the alarms this node raised about each partner.
  LogRelay(OwnLog own, CosignatureBook* book, WitnessStore* witnessed, PartnerDirectory* partners,
           PartnerCaller* caller)
      : own_(std::move(own)),
        book_(book),
        witnessed_(witnessed),
        partners_(partners),
        caller_(caller) {}
  // This node first, then its partners by id.
  absl::StatusOr<trenode::v1::FederationLogs> Collect();

 private:
  trenode::v1::NodeLog OfPartner(const trenode::v1::Partner& partner);
  OwnLog own_;
  CosignatureBook* book_;
  WitnessStore* witnessed_;
  PartnerDirectory* partners_;
  PartnerCaller* caller_;
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_LOG_RELAY_H_
