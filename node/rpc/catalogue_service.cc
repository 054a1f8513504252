#include "node/rpc/catalogue_service.h"

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/rpc/grpc_status.h"
#include "node/rpc/handle.h"

namespace trenode::rpc {
namespace {
constexpr char kService[] = "trenode.v1.Catalogue";
}  // namespace

grpc::Status CatalogueService::RegisterDataset(grpc::ServerContext* context,
                                               const trenode::v1::RegisterDatasetRequest* request,
                                               trenode::v1::Dataset* reply) {
  return Handle(*gate_, kService, "RegisterDataset", context, reply,
                [&](const auth::Principal& caller) {
                  return catalogue_->Register(caller, request->dataset());
                });
}

grpc::Status CatalogueService::UpdateDataset(grpc::ServerContext* context,
                                             const trenode::v1::UpdateDatasetRequest* request,
                                             trenode::v1::Dataset* reply) {
  return Handle(
      *gate_, kService, "UpdateDataset", context, reply, [&](const auth::Principal& caller) {
        return catalogue_->Update(caller, request->dataset(), request->expected_version());
      });
}

grpc::Status CatalogueService::RetireDataset(grpc::ServerContext* context,
                                             const trenode::v1::RetireDatasetRequest* request,
                                             trenode::v1::Dataset* reply) {
  return Handle(*gate_, kService, "RetireDataset", context, reply,
                [&](const auth::Principal& caller) {
                  return catalogue_->Retire(caller, request->id(), request->reason());
                });
}

grpc::Status CatalogueService::GetDataset(grpc::ServerContext* context,
                                          const trenode::v1::GetDatasetRequest* request,
                                          trenode::v1::Dataset* reply) {
  return Handle(*gate_, kService, "GetDataset", context, reply, [&](const auth::Principal& caller) {
    return catalogue_->Get(caller, request->id(), request->version());
  });
}

grpc::Status CatalogueService::ListDatasets(grpc::ServerContext* context,
                                            const trenode::v1::ListDatasetsRequest* request,
                                            trenode::v1::ListDatasetsResponse* reply) {
  return Handle(*gate_, kService, "ListDatasets", context, reply,
                [&](const auth::Principal& caller) { return catalogue_->List(caller, *request); });
}

grpc::Status CatalogueService::SearchDatasets(grpc::ServerContext* context,
                                              const trenode::v1::SearchDatasetsRequest* request,
                                              trenode::v1::SearchDatasetsResponse* reply) {
  return Handle(
      *gate_, kService, "SearchDatasets", context, reply,
      [&](const auth::Principal& caller) { return catalogue_->Search(caller, *request); });
}

grpc::Status CatalogueService::ImportDataset(
    grpc::ServerContext* context, grpc::ServerReader<trenode::v1::ImportDatasetRequest>* reader,
    trenode::v1::Dataset* reply) {
  return HandleStreamed(*gate_, kService, "ImportDataset", context, reply,
                        [&](const auth::Principal& caller) {
                          return Import(
                              caller, *context,
                              [&](trenode::v1::ImportDatasetRequest* m) { return reader->Read(m); },
                              nullptr);
                        });
}

grpc::Status CatalogueService::ImportDatasetWithProgress(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<trenode::v1::ImportDatasetEvent, trenode::v1::ImportDatasetRequest>*
        stream) {
  trenode::v1::Dataset dataset;
  // Once a write fails the client has gone: the import goes on without it.
  bool listening = true;
  auto send = [&](const trenode::v1::ImportProgress& progress) {
    if (!listening) return;
    trenode::v1::ImportDatasetEvent event;
    *event.mutable_progress() = progress;
    listening = stream->Write(event);
  };
  grpc::Status status = HandleStreamed(
      *gate_, kService, "ImportDatasetWithProgress", context, &dataset,
      [&](const auth::Principal& caller) {
        return Import(
            caller, *context,
            [&](trenode::v1::ImportDatasetRequest* m) { return stream->Read(m); }, send);
      });
  if (!status.ok()) return status;
  trenode::v1::ImportDatasetEvent last;
  *last.mutable_dataset() = std::move(dataset);
  stream->Write(last);
  return grpc::Status::OK;
}

absl::StatusOr<trenode::v1::Dataset> CatalogueService::Import(
    const auth::Principal& caller, const grpc::ServerContext& context,
    const std::function<bool(trenode::v1::ImportDatasetRequest*)>& read,
    const ingest::ImportProgressSink& progress) {
  trenode::v1::ImportDatasetRequest message;
  if (!read(&message) || !message.has_header()) {
    return absl::InvalidArgumentError("the first message of ImportDataset must be the header");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ingest::ImportSession> session,
                   ingest::ImportSession::Start(caller, message.header(), catalogue_, datasets_,
                                                work_dir_, import_limits_));
  while (read(&message)) {
    if (!message.has_chunk()) {
      return absl::InvalidArgumentError("only the first message of ImportDataset may be a header");
    }
    RETURN_IF_ERROR(session->AddChunk(message.chunk()));
  }
  // A stream that ended by cancellation or a broken connection may have lost
  // data: only a clean half-close from the client completes an import.
  // Past this point the import runs to its end whatever the client does.
  if (context.IsCancelled()) {
    return absl::CancelledError("the import stream was cancelled; nothing was imported");
  }
  return session->Finish(progress);
}

}  // namespace trenode::rpc
