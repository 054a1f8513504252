#include "node/config/node_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "node/catalogue/dataset_validation.h"
#include "node/common/status_macros.h"

namespace trenode::config {
namespace {
namespace fs = std::filesystem;
using trenode::v1::NodeConfig;

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (message_.empty())
      message_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message);
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

void Resolve(std::string* path, const fs::path& base) {
  if (!path->empty() && fs::path(*path).is_relative())
    *path = (base / *path).lexically_normal().string();
}

}  // namespace

bool IsLoopbackAddress(const std::string& host_port) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = host_port.substr(0, colon);
  int port;
  if (!absl::SimpleAtoi(host_port.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return false;
  }
  return host == "localhost" || host == "[::1]" || absl::StartsWith(host, "127.");
}

absl::Status ValidateNodeConfig(const NodeConfig& config) {
  if (config.node_id().empty()) return FieldError("node_id", "is required");
  if (absl::Status s = catalogue::ValidateDatasetId(config.node_id()); !s.ok()) {
    return FieldError("node_id", absl::StrCat("\"", config.node_id(),
                                              "\" must be 2 to 63 characters of [a-z0-9-]"));
  }
  if (config.listen_address().empty()) return FieldError("listen_address", "is required");
  if (!IsLoopbackAddress(config.listen_address())) {
    return FieldError("listen_address",
                      absl::StrCat("\"", config.listen_address(),
                                   "\" must be a loopback address with a port (127.0.0.1:PORT, "
                                   "[::1]:PORT or localhost:PORT) until TLS is configured"));
  }
  if (config.database_path().empty()) return FieldError("database_path", "is required");
  switch (config.object_store().backend_case()) {
    case trenode::v1::ObjectStoreConfig::kPosix:
      if (config.object_store().posix().root().empty()) {
        return FieldError("object_store.posix.root", "is required");
      }
      break;
    case trenode::v1::ObjectStoreConfig::BACKEND_NOT_SET:
      return FieldError("object_store",
                        "is required (e.g. object_store { posix { root: \"data\" } })");
  }
  if (config.max_import_bytes() < 0) return FieldError("max_import_bytes", "must not be negative");
  return absl::OkStatus();
}

absl::StatusOr<NodeConfig> LoadNodeConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the config file"));
  std::stringstream text;
  text << in.rdbuf();

  NodeConfig config;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), &config)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", errors.message()));
  }
  if (absl::Status s = ValidateNodeConfig(config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  fs::path base = fs::absolute(path).parent_path();
  Resolve(config.mutable_database_path(), base);
  Resolve(config.mutable_object_store()->mutable_posix()->mutable_root(), base);
  if (config.work_dir().empty()) {
    config.set_work_dir((fs::path(config.database_path()).parent_path() / "work").string());
  }
  Resolve(config.mutable_work_dir(), base);
  if (config.max_import_bytes() == 0) config.set_max_import_bytes(int64_t{4} << 30);
  return config;
}

}  // namespace trenode::config
