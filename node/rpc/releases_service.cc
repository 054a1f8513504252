#include "node/rpc/releases_service.h"

#include "node/releases/released_bytes.h"
#include "node/rpc/handle.h"

namespace trenode::rpc {
namespace {
constexpr char kService[] = "trenode.v1.Releases";
constexpr size_t kChunkBytes = 256 << 10;
// Released files are outputs within the jobs' output limit (64 MiB by
// default); a larger stored object is not what was reviewed.
constexpr size_t kMaxFileBytes = size_t{1} << 30;
}  // namespace

grpc::Status ReleasesService::CreateRelease(grpc::ServerContext* context,
                                            const trenode::v1::CreateReleaseRequest* request,
                                            trenode::v1::Release* reply) {
  return Handle(*gate_, kService, "CreateRelease", context, reply,
                [&](const auth::Principal& caller) { return releases_->Create(caller, *request); });
}

grpc::Status ReleasesService::SubmitRelease(grpc::ServerContext* context,
                                            const trenode::v1::ReleaseIdRequest* request,
                                            trenode::v1::Release* reply) {
  return Handle(*gate_, kService, "SubmitRelease", context, reply,
                [&](const auth::Principal& caller) {
                  return releases_->Submit(caller, request->release_id());
                });
}

grpc::Status ReleasesService::GetRelease(grpc::ServerContext* context,
                                         const trenode::v1::ReleaseIdRequest* request,
                                         trenode::v1::Release* reply) {
  return Handle(*gate_, kService, "GetRelease", context, reply, [&](const auth::Principal& caller) {
    return releases_->Get(caller, request->release_id());
  });
}

grpc::Status ReleasesService::ListReleases(grpc::ServerContext* context,
                                           const trenode::v1::ListReleasesRequest* request,
                                           trenode::v1::ListReleasesResponse* reply) {
  return Handle(*gate_, kService, "ListReleases", context, reply,
                [&](const auth::Principal& caller) { return releases_->List(caller, *request); });
}

grpc::Status ReleasesService::ReviewRelease(grpc::ServerContext* context,
                                            const trenode::v1::ReviewReleaseRequest* request,
                                            trenode::v1::Release* reply) {
  return Handle(*gate_, kService, "ReviewRelease", context, reply,
                [&](const auth::Principal& caller) { return releases_->Review(caller, *request); });
}

grpc::Status ReleasesService::WithdrawRelease(grpc::ServerContext* context,
                                              const trenode::v1::ReleaseIdRequest* request,
                                              trenode::v1::Release* reply) {
  return Handle(*gate_, kService, "WithdrawRelease", context, reply,
                [&](const auth::Principal& caller) {
                  return releases_->Withdraw(caller, request->release_id(), request->reason());
                });
}

grpc::Status ReleasesService::RevokeRelease(grpc::ServerContext* context,
                                            const trenode::v1::RevokeReleaseRequest* request,
                                            trenode::v1::Release* reply) {
  return Handle(*gate_, kService, "RevokeRelease", context, reply,
                [&](const auth::Principal& caller) {
                  return releases_->Revoke(caller, request->release_id(), request->reason());
                });
}

grpc::Status ReleasesService::DownloadFile(grpc::ServerContext* context,
                                           const trenode::v1::DownloadFileRequest* request,
                                           grpc::ServerWriter<trenode::v1::DownloadChunk>* writer) {
  absl::StatusOr<CallGate::AdmittedStream> admitted =
      gate_->AdmitStream(*context, absl::StrCat("/", kService, "/DownloadFile"));
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  const auth::Principal* caller = &admitted->principal;
  absl::StatusOr<releases::Releases::DownloadTarget> target =
      releases_->StartDownload(*caller, request->release_id(), request->file());
  if (!target.ok()) return ToGrpcStatus(target.status());
  // Checked whole before a byte is sent: only the reviewed bytes leave.
  absl::StatusOr<std::string> bytes =
      releases::ReadReleasedBytes(*objects_, target->key, target->sha256, kMaxFileBytes);
  if (!bytes.ok()) return ToGrpcStatus(bytes.status());
  trenode::v1::DownloadChunk chunk;
  int64_t sent = 0;  // the bytes that left: charged as the project's egress
  for (size_t at = 0; at < bytes->size(); at += kChunkBytes) {
    chunk.set_data(bytes->substr(at, kChunkBytes));
    if (!writer->Write(chunk)) break;  // the client went away
    sent += static_cast<int64_t>(chunk.data().size());
  }
  return ToGrpcStatus(releases_->FinishDownload(*caller, *target, sent));
}

}  // namespace trenode::rpc
