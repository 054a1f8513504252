#include "node/config/node_config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "node/catalogue/dataset_validation.h"
#include "node/common/files.h"
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

// "host:port" with a non-empty host and a port of 1 to 65535.
bool ValidHostPort(absl::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  int port = 0;
  return absl::SimpleAtoi(address.substr(colon + 1), &port) && port >= 1 && port <= 65535;
}

}  // namespace

absl::Status ValidateNodeConfig(const NodeConfig& config) {
  if (config.node_id().empty()) return FieldError("node_id", "is required");
  if (absl::Status s = catalogue::ValidateDatasetId(config.node_id()); !s.ok()) {
    return FieldError("node_id", absl::StrCat("\"", config.node_id(),
                                              "\" must be 2 to 63 characters of [a-z0-9-]"));
  }
  if (config.listen_address().empty()) return FieldError("listen_address", "is required");
  if (config.listen_address().rfind(':') == std::string::npos) {
    return FieldError("listen_address",
                      absl::StrCat("\"", config.listen_address(), "\" must be host:port"));
  }
  if (config.database_path().empty()) return FieldError("database_path", "is required");
  switch (config.object_store().backend_case()) {
    case trenode::v1::ObjectStoreConfig::kPosix:
      if (config.object_store().posix().root().empty()) {
        return FieldError("object_store.posix.root", "is required");
      }
      break;
    case trenode::v1::ObjectStoreConfig::kS3:
      if (config.object_store().s3().bucket().empty()) {
        return FieldError("object_store.s3.bucket", "is required");
      }
      if (config.object_store().s3().region().empty()) {
        return FieldError("object_store.s3.region", "is required (e.g. \"eu-west-2\")");
      }
      if (config.object_store().s3().part_size_mib() < 0) {
        return FieldError("object_store.s3.part_size_mib", "must not be negative");
      }
      break;
    case trenode::v1::ObjectStoreConfig::kAzureBlob:
      if (config.object_store().azure_blob().container().empty()) {
        return FieldError("object_store.azure_blob.container", "is required");
      }
      if (config.object_store().azure_blob().block_size_mib() < 0) {
        return FieldError("object_store.azure_blob.block_size_mib", "must not be negative");
      }
      break;
    case trenode::v1::ObjectStoreConfig::BACKEND_NOT_SET:
      return FieldError("object_store",
                        "is required (e.g. object_store { posix { root: \"data\" } })");
  }
  if (config.max_import_bytes() < 0) return FieldError("max_import_bytes", "must not be negative");
  if (!config.has_tls()) {
    return FieldError("tls", "is required (certificate_file, private_key_file, client_ca_file)");
  }
  for (const auto& [field, value] :
       {std::pair{"tls.certificate_file", config.tls().certificate_file()},
        std::pair{"tls.private_key_file", config.tls().private_key_file()},
        std::pair{"tls.client_ca_file", config.tls().client_ca_file()}}) {
    if (value.empty()) return FieldError(field, "is required");
  }
  if (config.has_web()) {
    const trenode::v1::WebConfig& web = config.web();
    size_t colon = web.listen_address().rfind(':');
    int port = -1;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(absl::string_view(web.listen_address()).substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return FieldError("web.listen_address",
                        absl::StrCat("\"", web.listen_address(), "\" must be host:port"));
    }
    if (web.listen_address() == config.listen_address()) {
      return FieldError("web.listen_address", "must differ from listen_address (gRPC)");
    }
    if (web.max_request_bytes() < 0) {
      return FieldError("web.max_request_bytes", "must not be negative");
    }
    if (web.read_timeout_seconds() < 0 || web.read_timeout_seconds() > 300) {
      return FieldError("web.read_timeout_seconds", "must be 0 to 300");
    }
    if (web.threads() < 0 || web.threads() > 1024) {
      return FieldError("web.threads", "must be 0 to 1024");
    }
  }
  if (config.has_oidc()) {
    const auto& oidc = config.oidc();
    if (oidc.issuer().empty()) return FieldError("oidc.issuer", "is required");
    if (oidc.audiences().empty()) return FieldError("oidc.audiences", "needs at least one value");
    if (oidc.jwks_file().empty() == oidc.jwks_uri().empty()) {
      return FieldError("oidc", "set exactly one of jwks_file and jwks_uri");
    }
    if (oidc.clock_skew_seconds() < 0 || oidc.clock_skew_seconds() > 600) {
      return FieldError("oidc.clock_skew_seconds", "must be 0 to 600");
    }
    for (int i = 0; i < oidc.role_mappings_size(); ++i) {
      if (oidc.role_mappings(i).role() == trenode::v1::ROLE_UNSPECIFIED) {
        return FieldError(absl::StrCat("oidc.role_mappings[", i, "].role"), "is required");
      }
      if (oidc.role_mappings(i).role() == trenode::v1::ROLE_PEER_NODE) {
        return FieldError(absl::StrCat("oidc.role_mappings[", i, "].role"),
                          "ROLE_PEER_NODE is a partner node's, proved by its certificate; a "
                          "person's token cannot carry it");
      }
    }
  }
  if (config.activity_log().signing_key_file().empty()) {
    return FieldError("activity_log.signing_key_file",
                      "is required (the checkpoint signing key; trectl pki log-key makes one)");
  }
  if (config.activity_log().checkpoint_interval_seconds() < 0) {
    return FieldError("activity_log.checkpoint_interval_seconds", "must not be negative");
  }
  const trenode::v1::ComputeConfig& compute = config.compute();
  for (const auto& [field, value] :
       {std::pair<absl::string_view, int64_t>{"compute.cpu_seconds", compute.cpu_seconds()},
        {"compute.wall_seconds", compute.wall_seconds()},
        {"compute.memory_mib", compute.memory_mib()},
        {"compute.output_mib", compute.output_mib()},
        {"compute.processes", compute.processes()},
        {"compute.query_workers", compute.query_workers()},
        {"compute.query_seconds", compute.query_seconds()},
        {"compute.query_max_categories", compute.query_max_categories()},
        {"compute.query_cache_mib", compute.query_cache_mib()},
        {"compute.query_mmap_mib", compute.query_mmap_mib()}}) {
    if (value < 0) return FieldError(field, "must not be negative (0 takes the default)");
  }
  if (compute.has_aws_batch()) {
    if (!config.object_store().has_s3()) {
      return FieldError("compute.aws_batch",
                        "needs object_store.s3 (jobs are staged in the same cloud's store)");
    }
    if (compute.aws_batch().job_queue().empty()) {
      return FieldError("compute.aws_batch.job_queue", "is required");
    }
    if (compute.aws_batch().job_definition().empty()) {
      return FieldError("compute.aws_batch.job_definition",
                        "is required (the job runner's job definition, e.g. \"trenode-job-runner:1\")");
    }
  }
  if (compute.has_azure_batch()) {
    const trenode::v1::AzureBatchComputeConfig& azure = compute.azure_batch();
    if (!config.object_store().has_azure_blob()) {
      return FieldError("compute.azure_batch",
                        "needs object_store.azure_blob (jobs are staged in the same cloud's store)");
    }
    for (const auto& [field, value] :
         {std::pair<absl::string_view, const std::string&>{"account_name", azure.account_name()},
          {"endpoint", azure.endpoint()},
          {"job_id", azure.job_id()},
          {"pool_id", azure.pool_id()},
          {"image", azure.image()}}) {
      if (value.empty()) return FieldError(absl::StrCat("compute.azure_batch.", field), "is required");
    }
  }
  std::set<std::string> services;
  for (int i = 0; i < config.service_accounts_size(); ++i) {
    const auto& account = config.service_accounts(i);
    std::string field = absl::StrCat("service_accounts[", i, "]");
    if (!catalogue::ValidateDatasetId(account.name()).ok()) {
      return FieldError(
          absl::StrCat(field, ".name"),
          absl::StrCat("\"", account.name(), "\" must be 2 to 63 characters of [a-z0-9-]"));
    }
    if (account.role() == trenode::v1::ROLE_UNSPECIFIED) {
      return FieldError(absl::StrCat(field, ".role"), "is required");
    }
    if (!services.insert(account.name()).second) {
      return FieldError(absl::StrCat(field, ".name"),
                        absl::StrCat("\"", account.name(), "\" appears twice"));
    }
  }
  if (config.institution().size() > 200) {
    return FieldError("institution", "must be at most 200 characters");
  }
  std::set<std::string> partners;
  for (int i = 0; i < config.federation().partners_size(); ++i) {
    const auto& partner = config.federation().partners(i);
    std::string field = absl::StrCat("federation.partners[", i, "]");
    if (!catalogue::ValidateDatasetId(partner.node_id()).ok()) {
      return FieldError(
          absl::StrCat(field, ".node_id"),
          absl::StrCat("\"", partner.node_id(), "\" must be 2 to 63 characters of [a-z0-9-]"));
    }
    if (partner.node_id() == config.node_id()) {
      return FieldError(absl::StrCat(field, ".node_id"), "is this node's own id");
    }
    if (!partners.insert(partner.node_id()).second) {
      return FieldError(absl::StrCat(field, ".node_id"),
                        absl::StrCat("\"", partner.node_id(), "\" appears twice"));
    }
    if (partner.dials_in()) {
      if (config.federation().locked_down()) {
        return FieldError(absl::StrCat(field, ".dials_in"),
                          "a locked_down node dials its partners; none can dial in");
      }
      if (!partner.address().empty()) {
        return FieldError(absl::StrCat(field, ".address"),
                          "is not dialled: the partner dials in (leave it empty)");
      }
    } else if (!ValidHostPort(partner.address())) {
      return FieldError(absl::StrCat(field, ".address"),
                        absl::StrCat("\"", partner.address(), "\" must be host:port"));
    }
  }
  const int32_t witness_every = config.federation().witness_interval_seconds();
  if (witness_every < 0 || witness_every > 86400) {
    return FieldError("federation.witness_interval_seconds",
                      "must be 1 to 86400 seconds (0 or unset: 60)");
  }
  // NaN fails both comparisons.
  const double rate = config.federation().partner_calls_per_second();
  if (!(rate >= 0 && rate <= 1e6)) {
    return FieldError("federation.partner_calls_per_second",
                      "must be 0 (unset: 200) to 1,000,000 calls a second");
  }
  const double burst = config.federation().partner_call_burst();
  if (!(burst >= 0 && burst <= 1e6)) {
    return FieldError("federation.partner_call_burst",
                      "must be 0 (unset: 400, at least the rate) to 1,000,000 calls");
  }
  for (const auto& [field, value, fallback] :
       {std::tuple<const char*, int32_t, int>{"federation.stream_open_timeout_seconds",
                                              config.federation().stream_open_timeout_seconds(),
                                              10},
        {"federation.stream_write_timeout_seconds",
         config.federation().stream_write_timeout_seconds(), 30}}) {
    if (value < 0 || value > 3600) {
      return FieldError(field,
                        absl::StrCat("must be 1 to 3600 seconds (0 or unset: ", fallback, ")"));
    }
  }
  return absl::OkStatus();
}

namespace {
absl::Status CheckReadable(const std::string& path, absl::string_view field) {
  std::ifstream in(path);
  if (!in) return FieldError(field, absl::StrCat("cannot read ", path));
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<NodeConfig> LoadNodeConfig(const std::string& path) {
  std::optional<std::string> text = ReadWholeFile(path);
  if (!text) return absl::NotFoundError(absl::StrCat(path, ": cannot read the config file"));

  NodeConfig config;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(*text, &config)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", errors.message()));
  }
  if (absl::Status s = ValidateNodeConfig(config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  fs::path base = fs::absolute(path).parent_path();
  Resolve(config.mutable_database_path(), base);
  Resolve(config.mutable_tls()->mutable_certificate_file(), base);
  Resolve(config.mutable_tls()->mutable_private_key_file(), base);
  Resolve(config.mutable_tls()->mutable_client_ca_file(), base);
  Resolve(config.mutable_activity_log()->mutable_signing_key_file(), base);
  Resolve(config.mutable_activity_log()->mutable_checkpoint_copy_file(), base);
  if (config.activity_log().checkpoint_interval_seconds() == 0) {
    config.mutable_activity_log()->set_checkpoint_interval_seconds(2);
  }
  if (config.has_oidc()) {
    Resolve(config.mutable_oidc()->mutable_jwks_file(), base);
    Resolve(config.mutable_oidc()->mutable_jwks_ca_file(), base);
  }
  for (const auto& [field, file] :
       {std::pair{"tls.certificate_file", config.tls().certificate_file()},
        std::pair{"tls.private_key_file", config.tls().private_key_file()},
        std::pair{"tls.client_ca_file", config.tls().client_ca_file()},
        std::pair{"oidc.jwks_file", config.oidc().jwks_file()},
        std::pair{"oidc.jwks_ca_file", config.oidc().jwks_ca_file()},
        std::pair{"activity_log.signing_key_file", config.activity_log().signing_key_file()}}) {
    if (file.empty()) continue;
    if (absl::Status s = CheckReadable(file, field); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
    }
  }
  if (config.object_store().has_posix()) {
    Resolve(config.mutable_object_store()->mutable_posix()->mutable_root(), base);
  }
  if (config.object_store().has_s3() && !config.object_store().s3().ca_file().empty()) {
    Resolve(config.mutable_object_store()->mutable_s3()->mutable_ca_file(), base);
  }
  if (config.object_store().has_azure_blob()) {
    auto* azure = config.mutable_object_store()->mutable_azure_blob();
    if (!azure->ca_file().empty()) Resolve(azure->mutable_ca_file(), base);
    if (!azure->connection_string_file().empty()) {
      Resolve(azure->mutable_connection_string_file(), base);
    }
  }
  if (config.compute().has_aws_batch() && !config.compute().aws_batch().ca_file().empty()) {
    Resolve(config.mutable_compute()->mutable_aws_batch()->mutable_ca_file(), base);
  }
  if (config.compute().has_azure_batch()) {
    auto* azure = config.mutable_compute()->mutable_azure_batch();
    if (!azure->ca_file().empty()) Resolve(azure->mutable_ca_file(), base);
    if (!azure->account_key_file().empty()) Resolve(azure->mutable_account_key_file(), base);
  }
  if (config.work_dir().empty()) {
    config.set_work_dir((fs::path(config.database_path()).parent_path() / "work").string());
  }
  Resolve(config.mutable_work_dir(), base);
  if (config.max_import_bytes() == 0) config.set_max_import_bytes(int64_t{4} << 30);
  return config;
}

}  // namespace trenode::config
