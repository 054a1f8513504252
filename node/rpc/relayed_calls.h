// RelayedCalls: a locked-down node's answers to the calls a partner sends
// down the stream this node opened to it (Federation.Attend). The partner
// is the one this node dialled, named by its certificate; each call goes
// through the same CallGate (authorization table, activity log) and the
// same domain calls as the gRPC handlers, for the methods partners call.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_RELAYED_CALLS_H_
#define TRENODE_NODE_RPC_RELAYED_CALLS_H_

#include <functional>
#include <map>
#include <string>

#include "federation/contributions.h"
#include "federation/cosignature_book.h"
#include "federation/federation.h"
#include "federation/partner_directory.h"
#include "node/catalogue/catalogue.h"
#include "node/log/activity_log.h"
#include "node/rpc/call_gate.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::rpc {

struct RelayedParts {
  CallGate* gate;
  federation::PartnerDirectory* partners;
  federation::Federation* federation;
  federation::Contributions* contributions;
  federation::CosignatureBook* cosignatures;
  log::ActivityLog* activity_log;
  catalogue::Catalogue* catalogue;
};

class RelayedCalls {
 public:
  explicit RelayedCalls(RelayedParts parts);
  // The reply to `call` from partner `partner_id`. A method partners do not
  // call down a stream is UNIMPLEMENTED; a partner no longer listed is
  // PERMISSION_DENIED.
  trenode::v1::RelayedReply Serve(const std::string& partner_id,
                                  const trenode::v1::RelayedCall& call);

  // `check` parses and validates the request for the gate, before the
  // admission is logged (CallGate::RequestCheck); `serve` answers it.
  struct Handler {
    std::function<absl::Status(const auth::Principal& partner, const std::string& request)> check;
    std::function<absl::StatusOr<std::string>(const auth::Principal& partner,
                                              const std::string& request)>
        serve;
  };

 private:
  RelayedParts parts_;
  std::map<std::string, Handler, std::less<>> handlers_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_RELAYED_CALLS_H_
