// The Releases gRPC service: thin handlers over the domain Releases.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_RELEASES_SERVICE_H_
#define TRENODE_NODE_RPC_RELEASES_SERVICE_H_

#include "adapters/object_store.h"
#include "node/releases/releases.h"
#include "node/rpc/call_gate.h"
#include "trenode/v1/releases.grpc.pb.h"

namespace trenode::rpc {

class ReleasesService final : public trenode::v1::Releases::Service {
 public:
  // All must outlive the service.
  ReleasesService(CallGate* gate, releases::Releases* releases, adapters::ObjectStore* objects)
      : gate_(gate), releases_(releases), objects_(objects) {}

  grpc::Status CreateRelease(grpc::ServerContext* context,
                             const trenode::v1::CreateReleaseRequest* request,
                             trenode::v1::Release* reply) override;
  grpc::Status SubmitRelease(grpc::ServerContext* context,
                             const trenode::v1::ReleaseIdRequest* request,
                             trenode::v1::Release* reply) override;
  grpc::Status GetRelease(grpc::ServerContext* context,
                          const trenode::v1::ReleaseIdRequest* request,
                          trenode::v1::Release* reply) override;
  grpc::Status ListReleases(grpc::ServerContext* context,
                            const trenode::v1::ListReleasesRequest* request,
                            trenode::v1::ListReleasesResponse* reply) override;
  grpc::Status ReviewRelease(grpc::ServerContext* context,
                             const trenode::v1::ReviewReleaseRequest* request,
                             trenode::v1::Release* reply) override;
  grpc::Status WithdrawRelease(grpc::ServerContext* context,
                               const trenode::v1::ReleaseIdRequest* request,
                               trenode::v1::Release* reply) override;
  grpc::Status RevokeRelease(grpc::ServerContext* context,
                             const trenode::v1::RevokeReleaseRequest* request,
                             trenode::v1::Release* reply) override;
  grpc::Status DownloadFile(grpc::ServerContext* context,
                            const trenode::v1::DownloadFileRequest* request,
                            grpc::ServerWriter<trenode::v1::DownloadChunk>* writer) override;

 private:
  CallGate* gate_;
  releases::Releases* releases_;
  adapters::ObjectStore* objects_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_RELEASES_SERVICE_H_
