// The Catalogue gRPC service: thin handlers that admit the caller, hand the
// request to the domain Catalogue (or an ImportSession) and fill the reply.
// Thread-safe.
#ifndef TRENODE_NODE_RPC_CATALOGUE_SERVICE_H_
#define TRENODE_NODE_RPC_CATALOGUE_SERVICE_H_

#include <filesystem>
#include <functional>

#include "adapters/object_store.h"
#include "node/catalogue/catalogue.h"
#include "node/ingest/import_session.h"
#include "node/rpc/call_gate.h"
#include "trenode/v1/catalogue.grpc.pb.h"

namespace trenode::rpc {

class CatalogueService final : public trenode::v1::Catalogue::Service {
 public:
  // Every pointer must outlive the service.
  CatalogueService(CallGate* gate, catalogue::Catalogue* catalogue, adapters::ObjectStore* datasets,
                   std::filesystem::path work_dir, ingest::ImportLimits import_limits)
      : gate_(gate),
        catalogue_(catalogue),
        datasets_(datasets),
        work_dir_(std::move(work_dir)),
        import_limits_(import_limits) {}

  grpc::Status RegisterDataset(grpc::ServerContext* context,
                               const trenode::v1::RegisterDatasetRequest* request,
                               trenode::v1::Dataset* reply) override;
  grpc::Status ImportDataset(grpc::ServerContext* context,
                             grpc::ServerReader<trenode::v1::ImportDatasetRequest>* reader,
                             trenode::v1::Dataset* reply) override;
  // As ImportDataset, sending ImportProgress events while the node builds the
  // dataset and the entry last. A client that goes away once the data is
  // sent does not stop the import: it completes (or fails) as if the client
  // were there, and only the events are lost (spec/catalogue.md).
  grpc::Status ImportDatasetWithProgress(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<trenode::v1::ImportDatasetEvent, trenode::v1::ImportDatasetRequest>*
          stream) override;
  grpc::Status UpdateDataset(grpc::ServerContext* context,
                             const trenode::v1::UpdateDatasetRequest* request,
                             trenode::v1::Dataset* reply) override;
  grpc::Status RetireDataset(grpc::ServerContext* context,
                             const trenode::v1::RetireDatasetRequest* request,
                             trenode::v1::Dataset* reply) override;
  grpc::Status GetDataset(grpc::ServerContext* context,
                          const trenode::v1::GetDatasetRequest* request,
                          trenode::v1::Dataset* reply) override;
  grpc::Status ListDatasets(grpc::ServerContext* context,
                            const trenode::v1::ListDatasetsRequest* request,
                            trenode::v1::ListDatasetsResponse* reply) override;
  grpc::Status SearchDatasets(grpc::ServerContext* context,
                              const trenode::v1::SearchDatasetsRequest* request,
                              trenode::v1::SearchDatasetsResponse* reply) override;

 private:
  // Reads the header and chunks through `read` (false at the stream's end),
  // then builds, stores and publishes, telling `progress` (may be null).
  absl::StatusOr<trenode::v1::Dataset> Import(
      const auth::Principal& caller, const grpc::ServerContext& context,
      const std::function<bool(trenode::v1::ImportDatasetRequest*)>& read,
      const ingest::ImportProgressSink& progress);

  CallGate* gate_;
  catalogue::Catalogue* catalogue_;
  adapters::ObjectStore* datasets_;
  std::filesystem::path work_dir_;
  ingest::ImportLimits import_limits_;
};

}  // namespace trenode::rpc

#endif  // TRENODE_NODE_RPC_CATALOGUE_SERVICE_H_
