#include "node/server/object_store_from_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/aws/aws_credentials.h"
#include "adapters/aws/s3_object_store.h"
#include "adapters/azure/azure_blob_object_store.h"
#include "adapters/azure/connection_string.h"
#include "adapters/onprem/posix_object_store.h"
#include "adapters/quiet_object_store.h"
#include "node/common/status_macros.h"

namespace trenode::server {
namespace {

absl::Status Prefixed(absl::string_view field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

// A cloud store, checked at start, as the rest of the node uses it: its
// errors quieted (adapters/quiet_object_store.h), its datasets read from
// checked local copies.
absl::StatusOr<NodeObjects> Cached(std::unique_ptr<adapters::ObjectStore> cloud,
                                   const std::string& work_dir) {
  auto store = std::make_unique<adapters::QuietObjectStore>(std::move(cloud));
  NodeObjects objects;
  ASSIGN_OR_RETURN(objects.files,
                   adapters::CachedObjectFiles::Open(
                       store.get(), std::filesystem::path(work_dir) / "dataset-cache"));
  objects.store = std::move(store);
  return objects;
}

absl::StatusOr<NodeObjects> S3From(const trenode::v1::S3ObjectStoreConfig& s3,
                                   const std::string& work_dir) {
  adapters::aws::S3Options options;
  options.bucket = s3.bucket();
  options.region = s3.region();
  options.endpoint = s3.endpoint();
  options.path_style = s3.path_style();
  options.key_prefix = s3.key_prefix();
  options.server_side_encryption = s3.server_side_encryption();
  options.kms_key_id = s3.kms_key_id();
  if (s3.part_size_mib() > 0) options.part_size = int64_t{s3.part_size_mib()} << 20;
  options.http.ca_file = s3.ca_file();
  absl::StatusOr<std::unique_ptr<adapters::aws::AwsCredentialsProvider>> credentials =
      adapters::aws::DefaultCredentialsChain();
  if (!credentials.ok()) return Prefixed("object_store.s3", credentials.status());
  absl::StatusOr<std::unique_ptr<adapters::aws::S3ObjectStore>> store =
      adapters::aws::S3ObjectStore::Open(options, *std::move(credentials));
  if (!store.ok()) {
    // Option errors already name the field after "s3.".
    return absl::Status(store.status().code(),
                        absl::StrCat("object_store.", store.status().message()));
  }
  // Reachable, the bucket there, the credentials accepted: a listing (not a
  // HEAD, whose refusals carry no reason) of a prefix never written.
  absl::Status reachable = (*store)->List("trenode-start-check/").status();
  if (!reachable.ok()) return Prefixed("object_store.s3", reachable);
  return Cached(*std::move(store), work_dir);
}

absl::StatusOr<std::string> AzureConnectionString(
    const trenode::v1::AzureBlobObjectStoreConfig& azure) {
  if (!azure.connection_string_file().empty()) {
    std::ifstream in(azure.connection_string_file());
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("object_store.azure_blob.connection_string_file: cannot read ",
                       azure.connection_string_file()));
    }
    return std::string(absl::StripAsciiWhitespace(text.str()));
  }
  const char* from_environment = std::getenv("AZURE_STORAGE_CONNECTION_STRING");
  if (from_environment == nullptr || *from_environment == '\0') {
    return absl::InvalidArgumentError(
        "object_store.azure_blob: no connection string (set connection_string_file, or "
        "AZURE_STORAGE_CONNECTION_STRING in the node's environment)");
  }
  return std::string(from_environment);
}

absl::StatusOr<NodeObjects> AzureFrom(const trenode::v1::AzureBlobObjectStoreConfig& azure,
                                      const std::string& work_dir) {
  ASSIGN_OR_RETURN(std::string connection_string, AzureConnectionString(azure));
  absl::StatusOr<adapters::azure::AzureStorageAccount> account =
      adapters::azure::ParseConnectionString(connection_string);
  if (!account.ok()) return Prefixed("object_store.azure_blob: connection string", account.status());
  adapters::azure::AzureBlobStoreOptions options;
  options.container = azure.container();
  options.prefix = azure.key_prefix();
  if (azure.block_size_mib() > 0) options.block_size = size_t{static_cast<uint32_t>(azure.block_size_mib())} << 20;
  options.client.http.ca_file = azure.ca_file();
  // Open lists the container: a wrong key, SAS or container stops the node here.
  absl::StatusOr<std::unique_ptr<adapters::azure::AzureBlobObjectStore>> store =
      adapters::azure::AzureBlobObjectStore::Open(*account, std::move(options));
  if (!store.ok()) return Prefixed("object_store.azure_blob", store.status());
  return Cached(*std::move(store), work_dir);
}

}  // namespace

absl::StatusOr<NodeObjects> ObjectsFrom(const trenode::v1::NodeConfig& config) {
  const trenode::v1::ObjectStoreConfig& store = config.object_store();
  switch (store.backend_case()) {
    case trenode::v1::ObjectStoreConfig::kPosix: {
      ASSIGN_OR_RETURN(std::unique_ptr<adapters::PosixObjectStore> posix,
                       adapters::PosixObjectStore::Open(store.posix().root()));
      adapters::PosixObjectStore* raw = posix.get();
      NodeObjects objects;
      objects.files = adapters::DirectObjectFiles(
          [raw](absl::string_view key) { return raw->PathOf(key); });
      objects.store = std::move(posix);
      return objects;
    }
    case trenode::v1::ObjectStoreConfig::kS3:
      return S3From(store.s3(), config.work_dir());
    case trenode::v1::ObjectStoreConfig::kAzureBlob:
      return AzureFrom(store.azure_blob(), config.work_dir());
    case trenode::v1::ObjectStoreConfig::BACKEND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("object_store: is required");
}

}  // namespace trenode::server
