#include "node/rpc/analyses_service.h"

#include "node/rpc/handle.h"

namespace trenode::rpc {
namespace {
constexpr char kService[] = "trenode.v1.Analyses";
}  // namespace

grpc::Status AnalysesService::SubmitAnalysis(grpc::ServerContext* context,
                                             const trenode::v1::SubmitAnalysisRequest* request,
                                             trenode::v1::Analysis* reply) {
  return Handle(*gate_, kService, "SubmitAnalysis", context, reply,
                [&](const auth::Principal& caller) { return analyses_->Submit(caller, *request); });
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
  absl::StatusOr<auth::Principal> caller =
      gate_->Admit(*context, absl::StrCat("/", kService, "/WatchAnalysis"));
  if (!caller.ok()) return ToGrpcStatus(caller.status());
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

}  // namespace trenode::rpc
