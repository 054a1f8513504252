// JsonMethods: the trenode.v1 methods the JSON API serves, by URL path
// ("/trenode.v1.Catalogue/GetDataset", which is also the gRPC method name):
// the unary and server-streaming methods of the node's six services. Methods
// that stream their requests (ImportDataset[WithProgress], UploadBundle, Federation.Attend)
// and every other service (health, reflection, anything registered for
// tests) are not served. Immutable after construction; thread-safe.
#ifndef TRENODE_NODE_WEB_JSON_METHODS_H_
#define TRENODE_NODE_WEB_JSON_METHODS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace trenode::web {

struct JsonMethod {
  std::string path;
  const google::protobuf::Descriptor* request = nullptr;
  const google::protobuf::Descriptor* reply = nullptr;
  bool server_streaming = false;
};

class JsonMethods {
 public:
  // Every method of the six trenode.v1 services, from the generated
  // descriptors.
  JsonMethods();

  // The method served at `path`, exactly as written (no decoding, no
  // normalisation); Unimplemented naming `path` for any other path,
  // including a method whose requests stream.
  absl::StatusOr<const JsonMethod*> Find(absl::string_view path) const;

  // Every path served, sorted.
  std::vector<std::string> Paths() const;

 private:
  std::map<std::string, JsonMethod, std::less<>> served_;
  std::map<std::string, std::string, std::less<>> not_served_;  // path -> why
};

}  // namespace trenode::web

#endif  // TRENODE_NODE_WEB_JSON_METHODS_H_
