#include "node/rpc/releases_service.h"

#include "node/rpc/handle.h"

namespace trenode::rpc {
namespace {
constexpr char kService[] = "trenode.v1.Releases";
constexpr size_t kChunkBytes = 256 << 10;
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
  absl::StatusOr<std::string> key =
      releases_->StartDownload(*caller, request->release_id(), request->file());
  if (!key.ok()) return ToGrpcStatus(key.status());
  absl::StatusOr<std::unique_ptr<adapters::ObjectReader>> reader = objects_->OpenRead(*key);
  if (!reader.ok()) return ToGrpcStatus(reader.status());
  trenode::v1::DownloadChunk chunk;
  while (true) {
    absl::StatusOr<std::string> read = (*reader)->Read(kChunkBytes);
    if (!read.ok()) return ToGrpcStatus(read.status());
    if (read->empty()) return grpc::Status::OK;
    chunk.set_data(*std::move(read));
    if (!writer->Write(chunk)) return grpc::Status::OK;  // the client went away
  }
}

}  // namespace trenode::rpc
