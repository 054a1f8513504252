#include "node/rpc/activity_log_service.h"

#include "absl/strings/match.h"
#include "google/protobuf/util/time_util.h"
#include "node/common/status_macros.h"
#include "node/rpc/grpc_status.h"
#include "node/rpc/handle.h"

namespace trenode::rpc {
namespace {
constexpr char kService[] = "trenode.v1.ActivityLog";

}  // namespace

absl::StatusOr<trenode::v1::Checkpoint> ActivityLogService::CurrentCheckpoint(
    log::ActivityLog& log) {
  ASSIGN_OR_RETURN(std::string note, log.Checkpoint());
  ASSIGN_OR_RETURN(log::CheckpointBody body,
                   log::ParseCheckpointText(note.substr(0, note.find("\n\n") + 1)));
  trenode::v1::Checkpoint checkpoint;
  checkpoint.set_note(note);
  checkpoint.set_size(body.size);
  checkpoint.set_root(log::HashBytes(body.root));
  checkpoint.set_verifier_key(log.signer().VerifierKey());
  return checkpoint;
}

absl::StatusOr<trenode::v1::ConsistencyProof> ActivityLogService::Consistency(
    log::ActivityLog& log, const trenode::v1::GetConsistencyProofRequest& request) {
  ASSIGN_OR_RETURN(std::vector<log::Hash> hashes,
                   log.ConsistencyProof(request.from_size(), request.to_size()));
  trenode::v1::ConsistencyProof proof;
  proof.set_from_size(request.from_size());
  proof.set_to_size(request.to_size());
  for (const auto& hash : hashes) proof.add_hashes(log::HashBytes(hash));
  return proof;
}

grpc::Status ActivityLogService::GetCheckpoint(grpc::ServerContext* context,
                                               const trenode::v1::GetCheckpointRequest*,
                                               trenode::v1::Checkpoint* reply) {
  return Handle(*gate_, kService, "GetCheckpoint", context, reply,
                [&](const auth::Principal&) { return CurrentCheckpoint(*log_); });
}

namespace {

// What GetEntries and WatchEntries may filter on; unset fields match all.
struct EntryFilter {
  std::optional<int64_t> since_micros;  // inclusive
  std::optional<int64_t> until_micros;  // exclusive
  std::string project;
  std::string actor;
  std::string action;  // exact, or a prefix ending in '.'

  bool empty() const {
    return !since_micros && !until_micros && project.empty() && actor.empty() && action.empty();
  }

  bool Matches(const log::ActivityEvent& event) const {
    int64_t micros = absl::ToUnixMicros(event.time);
    if (since_micros && micros < *since_micros) return false;
    if (until_micros && micros >= *until_micros) return false;
    if (!project.empty() && event.project != project) return false;
    if (!actor.empty() && event.actor != actor) return false;
    if (action.empty()) return true;
    return action.back() == '.' ? absl::StartsWith(event.action, action) : event.action == action;
  }

  // Whether `leaf` is sent: everything when nothing is filtered; otherwise
  // only canonical records that match.
  bool Passes(const std::string& leaf) const {
    if (empty()) return true;
    absl::StatusOr<log::ActivityEvent> event = log::ParseLeaf(leaf);
    return event.ok() && Matches(*event);
  }
};

EntryFilter FilterOf(const trenode::v1::GetEntriesRequest& request) {
  using google::protobuf::util::TimeUtil;
  EntryFilter filter{
      .project = request.project(), .actor = request.actor(), .action = request.action()};
  if (request.has_since()) filter.since_micros = TimeUtil::TimestampToMicroseconds(request.since());
  if (request.has_until()) filter.until_micros = TimeUtil::TimestampToMicroseconds(request.until());
  return filter;
}

EntryFilter FilterOf(const trenode::v1::WatchEntriesRequest& request) {
  return {.project = request.project(), .actor = request.actor(), .action = request.action()};
}

}  // namespace

absl::Status ActivityLogService::CheckResearcherScope(const auth::Principal& caller,
                                                      const std::string& project) {
  if (caller.role != trenode::v1::ROLE_RESEARCHER) return absl::OkStatus();
  if (project.empty()) {
    return absl::PermissionDeniedError("researchers read only their projects' events: set project");
  }
  RETURN_IF_ERROR(governance_->GetProject(caller, project).status());
  // A suspended or closed project's members keep reading its record, but
  // not once their membership has been revoked (GetProject checks that).
  return absl::OkStatus();
}

grpc::Status ActivityLogService::GetEntries(grpc::ServerContext* context,
                                            const trenode::v1::GetEntriesRequest* request,
                                            grpc::ServerWriter<trenode::v1::LogEntry>* writer) {
  absl::StatusOr<CallGate::AdmittedStream> admitted =
      gate_->AdmitStream(*context, absl::StrCat("/", kService, "/GetEntries"));
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  const auth::Principal* caller = &admitted->principal;
  if (absl::Status scope = CheckResearcherScope(*caller, request->project()); !scope.ok()) {
    return ToGrpcStatus(
        gate_->Refuse(*caller, absl::StrCat("/", kService, "/GetEntries"), scope));
  }
  log_->Flush();  // what the node did up to this call, if its records wait still
  // end 0: as far as one call examines (the client pages on from there).
  uint64_t end = request->end() == 0
                     ? std::min<uint64_t>(log_->size(), request->start() + kMaxEntriesPerCall)
                     : request->end();
  if (request->start() > end) {
    return ToGrpcStatus(absl::InvalidArgumentError("start is after end"));
  }
  if (end - request->start() > kMaxEntriesPerCall) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxEntriesPerCall, " entries per call; page through the log")));
  }
  absl::StatusOr<std::vector<std::string>> leaves = log_->Leaves(request->start(), end);
  if (!leaves.ok()) return ToGrpcStatus(leaves.status());
  EntryFilter filter = FilterOf(*request);
  trenode::v1::LogEntry entry;
  for (size_t i = 0; i < leaves->size(); ++i) {
    if (!filter.Passes((*leaves)[i])) continue;
    entry.set_index(request->start() + i);
    entry.set_leaf((*leaves)[i]);
    if (!writer->Write(entry)) break;  // the client went away
  }
  return grpc::Status::OK;
}

grpc::Status ActivityLogService::WatchEntries(grpc::ServerContext* context,
                                              const trenode::v1::WatchEntriesRequest* request,
                                              grpc::ServerWriter<trenode::v1::LogEntry>* writer) {
  absl::StatusOr<CallGate::AdmittedStream> admitted =
      gate_->AdmitStream(*context, absl::StrCat("/", kService, "/WatchEntries"));
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  const auth::Principal* caller = &admitted->principal;
  if (absl::Status scope = CheckResearcherScope(*caller, request->project()); !scope.ok()) {
    return ToGrpcStatus(
        gate_->Refuse(*caller, absl::StrCat("/", kService, "/WatchEntries"), scope));
  }
  EntryFilter filter = FilterOf(*request);
  uint64_t next = request->start();
  if (next > log_->size()) {
    return ToGrpcStatus(absl::OutOfRangeError(
        absl::StrCat("start ", next, " is beyond the log's ", log_->size(), " entries")));
  }
  trenode::v1::LogEntry entry;
  while (!context->IsCancelled()) {
    // The stream ends when the caller's access does.
    if (absl::Now() >= caller->expires) {
      return ToGrpcStatus(absl::UnauthenticatedError("your token has expired; sign in again"));
    }
    if (absl::Status scope = CheckResearcherScope(*caller, request->project()); !scope.ok()) {
      return ToGrpcStatus(scope);
    }
    uint64_t size = log_->WaitForGrowth(next, absl::Seconds(1));
    if (size <= next) continue;
    uint64_t end = std::min(size, next + kMaxEntriesPerCall);
    absl::StatusOr<std::vector<std::string>> leaves = log_->Leaves(next, end);
    if (!leaves.ok()) return ToGrpcStatus(leaves.status());
    for (const std::string& leaf : *leaves) {
      uint64_t index = next++;
      if (!filter.Passes(leaf)) continue;
      entry.set_index(index);
      entry.set_leaf(leaf);
      if (!writer->Write(entry)) return grpc::Status::OK;  // the client went away
    }
  }
  return grpc::Status::OK;
}

grpc::Status ActivityLogService::GetInclusionProof(
    grpc::ServerContext* context, const trenode::v1::GetInclusionProofRequest* request,
    trenode::v1::InclusionProof* reply) {
  return Handle(*gate_, kService, "GetInclusionProof", context, reply,
                [&](const auth::Principal&) -> absl::StatusOr<trenode::v1::InclusionProof> {
                  ASSIGN_OR_RETURN(std::vector<log::Hash> hashes,
                                   log_->InclusionProof(request->index(), request->tree_size()));
                  trenode::v1::InclusionProof proof;
                  proof.set_index(request->index());
                  proof.set_tree_size(request->tree_size());
                  for (const auto& hash : hashes) proof.add_hashes(log::HashBytes(hash));
                  return proof;
                });
}

grpc::Status ActivityLogService::GetConsistencyProof(
    grpc::ServerContext* context, const trenode::v1::GetConsistencyProofRequest* request,
    trenode::v1::ConsistencyProof* reply) {
  return Handle(*gate_, kService, "GetConsistencyProof", context, reply,
                [&](const auth::Principal&) { return Consistency(*log_, *request); });
}

}  // namespace trenode::rpc
