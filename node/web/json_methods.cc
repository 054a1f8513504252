#include "node/web/json_methods.h"

#include "absl/strings/str_cat.h"
#include "node/common/text.h"
#include "trenode/v1/activity_log.pb.h"
#include "trenode/v1/analyses.pb.h"
#include "trenode/v1/catalogue.pb.h"
#include "trenode/v1/federation.pb.h"
#include "trenode/v1/governance.pb.h"
#include "trenode/v1/releases.pb.h"

namespace trenode::web {

JsonMethods::JsonMethods() {
  // One message of each service file, so that the file is linked and found.
  const google::protobuf::FileDescriptor* files[] = {
      trenode::v1::GetDatasetRequest::descriptor()->file(),
      trenode::v1::GetProjectRequest::descriptor()->file(),
      trenode::v1::GetCheckpointRequest::descriptor()->file(),
      trenode::v1::GetAnalysisRequest::descriptor()->file(),
      trenode::v1::ReleaseIdRequest::descriptor()->file(),
      trenode::v1::GetNodeInfoRequest::descriptor()->file()};
  for (const google::protobuf::FileDescriptor* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const google::protobuf::MethodDescriptor* method = service->method(m);
        std::string path = absl::StrCat("/", service->full_name(), "/", method->name());
        if (method->client_streaming()) {
          not_served_[path] = absl::StrCat(
              path, " streams its requests, which the JSON API cannot carry: call it over gRPC");
          continue;
        }
        served_[path] = JsonMethod{path, method->input_type(), method->output_type(),
                                   method->server_streaming()};
      }
    }
  }
}

absl::StatusOr<const JsonMethod*> JsonMethods::Find(absl::string_view path) const {
  if (auto it = served_.find(path); it != served_.end()) return &it->second;
  if (auto it = not_served_.find(path); it != not_served_.end()) {
    return absl::UnimplementedError(it->second);
  }
  return absl::UnimplementedError(
      absl::StrCat("no method \"", PrintableText(path, 200),
                   "\" here: the JSON API serves POST /trenode.v1.<Service>/<Method>"));
}

std::vector<std::string> JsonMethods::Paths() const {
  std::vector<std::string> paths;
  for (const auto& [path, method] : served_) paths.push_back(path);
  return paths;
}

}  // namespace trenode::web
