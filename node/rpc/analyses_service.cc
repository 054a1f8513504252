#include "node/rpc/analyses_service.h"

#include "node/common/status_macros.h"
#include "node/rpc/handle.h"

namespace trenode::rpc {
namespace {
constexpr char kService[] = "trenode.v1.Analyses";
}  // namespace

grpc::Status AnalysesService::SubmitAnalysis(grpc::ServerContext* context,
                                             const trenode::v1::SubmitAnalysisRequest* request,
                                             trenode::v1::Analysis* reply) {
  return Handle(*gate_, kService, "SubmitAnalysis", context, reply,
                [&](const auth::Principal& caller) -> absl::StatusOr<trenode::v1::Analysis> {
                  RETURN_IF_ERROR(analyses::CheckNotHomePartId(request->request_id()));
                  return analyses_->Submit(caller, *request);
                });
}

grpc::Status AnalysesService::EstimateAnalysis(grpc::ServerContext* context,
                                               const trenode::v1::SubmitAnalysisRequest* request,
                                               trenode::v1::Estimate* reply) {
  return Handle(
      *gate_, kService, "EstimateAnalysis", context, reply,
      [&](const auth::Principal& caller) { return analyses_->Estimate(caller, *request); });
}

grpc::Status AnalysesService::GetAnalysis(grpc::ServerContext* context,
                                          const trenode::v1::GetAnalysisRequest* request,
                                          trenode::v1::Analysis* reply) {
  return Handle(*gate_, kService, "GetAnalysis", context, reply,
                [&](const auth::Principal& caller) {
                  return analyses_->Get(caller, request->analysis_id());
                });
}

grpc::Status AnalysesService::ListAnalyses(grpc::ServerContext* context,
                                           const trenode::v1::ListAnalysesRequest* request,
                                           trenode::v1::ListAnalysesResponse* reply) {
  return Handle(*gate_, kService, "ListAnalyses", context, reply,
                [&](const auth::Principal& caller) { return analyses_->List(caller, *request); });
}

grpc::Status AnalysesService::WatchAnalysis(
    grpc::ServerContext* context, const trenode::v1::WatchAnalysisRequest* request,
    grpc::ServerWriter<trenode::v1::AnalysisEvent>* writer) {
  absl::StatusOr<CallGate::AdmittedStream> admitted =
      gate_->AdmitStream(*context, absl::StrCat("/", kService, "/WatchAnalysis"));
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  const auth::Principal* caller = &admitted->principal;
  return ToGrpcStatus(analyses_->Watch(
      *caller, *request,
      [&](const trenode::v1::AnalysisEvent& event) { return writer->Write(event); },
      [&] { return context->IsCancelled(); }));
}

grpc::Status AnalysesService::CancelAnalysis(grpc::ServerContext* context,
                                             const trenode::v1::AnalysisDecisionRequest* request,
                                             trenode::v1::Analysis* reply) {
  return Handle(*gate_, kService, "CancelAnalysis", context, reply,
                [&](const auth::Principal& caller) { return analyses_->Cancel(caller, *request); });
}

grpc::Status AnalysesService::ApproveAnalysis(grpc::ServerContext* context,
                                              const trenode::v1::AnalysisDecisionRequest* request,
                                              trenode::v1::Analysis* reply) {
  return Handle(
      *gate_, kService, "ApproveAnalysis", context, reply,
      [&](const auth::Principal& caller) { return analyses_->Approve(caller, *request); });
}

grpc::Status AnalysesService::RejectAnalysis(grpc::ServerContext* context,
                                             const trenode::v1::AnalysisDecisionRequest* request,
                                             trenode::v1::Analysis* reply) {
  return Handle(*gate_, kService, "RejectAnalysis", context, reply,
                [&](const auth::Principal& caller) { return analyses_->Reject(caller, *request); });
}

grpc::Status AnalysesService::UploadBundle(
    grpc::ServerContext* context, grpc::ServerReader<trenode::v1::UploadBundleRequest>* reader,
    trenode::v1::Bundle* reply) {
  return HandleStreamed(
      *gate_, kService, "UploadBundle", context, reply,
      [&](const auth::Principal& caller) { return Upload(caller, *context, reader); });
}

absl::StatusOr<trenode::v1::Bundle> AnalysesService::Upload(
    const auth::Principal& caller, const grpc::ServerContext& context,
    grpc::ServerReader<trenode::v1::UploadBundleRequest>* reader) {
  trenode::v1::UploadBundleRequest message;
  if (!reader->Read(&message) || !message.has_header()) {
    return absl::InvalidArgumentError("the first message of UploadBundle must be the header");
  }
  std::string project_id = message.header().project_id();
  std::string archive;
  const int64_t limit = analyses_->bundle_limits().max_archive_bytes;
  while (reader->Read(&message)) {
    if (!message.has_chunk()) {
      return absl::InvalidArgumentError("only the first message of UploadBundle may be a header");
    }
    if (static_cast<int64_t>(archive.size() + message.chunk().size()) > limit) {
      return absl::ResourceExhaustedError(
          absl::StrCat("bundle: more than the limit of ", limit, " bytes; nothing was kept"));
    }
    archive += message.chunk();
  }
  if (context.IsCancelled()) {
    return absl::CancelledError("the upload was cancelled; nothing was kept");
  }
  return analyses_->UploadBundle(caller, project_id, archive);
}

grpc::Status AnalysesService::GetBundle(grpc::ServerContext* context,
                                        const trenode::v1::GetBundleRequest* request,
                                        trenode::v1::Bundle* reply) {
  return Handle(*gate_, kService, "GetBundle", context, reply, [&](const auth::Principal& caller) {
    return analyses_->GetBundle(caller, request->sha256());
  });
}

grpc::Status AnalysesService::ListBundles(grpc::ServerContext* context,
                                          const trenode::v1::ListBundlesRequest* request,
                                          trenode::v1::ListBundlesResponse* reply) {
  return Handle(
      *gate_, kService, "ListBundles", context, reply,
      [&](const auth::Principal& caller) { return analyses_->ListBundles(caller, *request); });
}

grpc::Status AnalysesService::ApproveBundle(grpc::ServerContext* context,
                                            const trenode::v1::ApproveBundleRequest* request,
                                            trenode::v1::Bundle* reply) {
  return Handle(
      *gate_, kService, "ApproveBundle", context, reply,
      [&](const auth::Principal& caller) { return analyses_->ApproveBundle(caller, *request); });
}

}  // namespace trenode::rpc
