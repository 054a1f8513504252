#include "node/server/cloud_compute_from_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/aws/aws_batch_service.h"
#include "adapters/aws/aws_credentials.h"
#include "adapters/azure/azure_batch_service.h"
#include "adapters/cloud/batch_compute_backend.h"
#include "adapters/object_url_signer.h"
#include "node/common/status_macros.h"

namespace trenode::server {
namespace {

absl::Status Prefixed(absl::string_view field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

absl::StatusOr<std::unique_ptr<adapters::ComputeBackend>> Backend(
    absl::string_view field, const trenode::v1::NodeConfig& config, const std::string& key_prefix,
    int64_t queue_allowance_seconds, int vcpus,
    std::unique_ptr<adapters::cloud::BatchService> service, adapters::ObjectStore* objects) {
  auto* signer = dynamic_cast<adapters::ObjectUrlSigner*>(objects);
  if (signer == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": the object store cannot presign URLs for jobs"));
  }
  adapters::cloud::BatchBackendOptions options;
  options.work_root = (std::filesystem::path(config.work_dir()) / "batch").string();
  if (!key_prefix.empty()) options.key_prefix = key_prefix;
  if (queue_allowance_seconds > 0) options.queue_allowance = absl::Seconds(queue_allowance_seconds);
  if (vcpus > 0) options.vcpus = vcpus;
  absl::StatusOr<std::unique_ptr<adapters::cloud::BatchComputeBackend>> backend =
      adapters::cloud::BatchComputeBackend::Create(options, std::move(service), objects, signer);
  if (!backend.ok()) return Prefixed(field, backend.status());
  return std::unique_ptr<adapters::ComputeBackend>(*std::move(backend));
}

absl::StatusOr<std::unique_ptr<adapters::ComputeBackend>> AwsBatchFrom(
    const trenode::v1::NodeConfig& config, adapters::ObjectStore* objects) {
  const trenode::v1::AwsBatchComputeConfig& aws = config.compute().aws_batch();
  if (!config.object_store().has_s3()) {
    return absl::FailedPreconditionError(
        "compute.aws_batch: needs object_store.s3 (jobs are staged in the same cloud's store)");
  }
  adapters::aws::AwsBatchOptions options;
  options.region = aws.region().empty() ? config.object_store().s3().region() : aws.region();
  options.endpoint = aws.endpoint();
  options.job_queue = aws.job_queue();
  options.job_definition = aws.job_definition();
  options.http.ca_file = aws.ca_file();
  absl::StatusOr<std::unique_ptr<adapters::aws::AwsCredentialsProvider>> credentials =
      adapters::aws::DefaultCredentialsChain();
  if (!credentials.ok()) return Prefixed("compute.aws_batch", credentials.status());
  absl::StatusOr<std::unique_ptr<adapters::aws::AwsBatchService>> service =
      adapters::aws::AwsBatchService::Open(options, *std::move(credentials));
  if (!service.ok()) {
    // Option errors already name the field after "aws_batch.".
    return absl::Status(service.status().code(),
                        absl::StrCat("compute.", service.status().message()));
  }
  return Backend("compute.aws_batch", config, aws.key_prefix(), aws.queue_allowance_seconds(),
                 aws.vcpus(), *std::move(service), objects);
}

absl::StatusOr<std::string> AzureBatchKey(const trenode::v1::AzureBatchComputeConfig& azure) {
  if (!azure.account_key_file().empty()) {
    std::ifstream in(azure.account_key_file());
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat(
          "compute.azure_batch.account_key_file: cannot read ", azure.account_key_file()));
    }
    return std::string(absl::StripAsciiWhitespace(text.str()));
  }
  const char* from_environment = std::getenv("AZURE_BATCH_ACCOUNT_KEY");
  if (from_environment == nullptr || *from_environment == '\0') {
    return absl::InvalidArgumentError(
        "compute.azure_batch: no account key (set account_key_file, or AZURE_BATCH_ACCOUNT_KEY "
        "in the node's environment)");
  }
  return std::string(from_environment);
}

absl::StatusOr<std::unique_ptr<adapters::ComputeBackend>> AzureBatchFrom(
    const trenode::v1::NodeConfig& config, adapters::ObjectStore* objects) {
  const trenode::v1::AzureBatchComputeConfig& azure = config.compute().azure_batch();
  if (!config.object_store().has_azure_blob()) {
    return absl::FailedPreconditionError(
        "compute.azure_batch: needs object_store.azure_blob (jobs are staged in the same "
        "cloud's store)");
  }
  adapters::azure::AzureBatchOptions options;
  options.account_name = azure.account_name();
  ASSIGN_OR_RETURN(options.account_key, AzureBatchKey(azure));
  options.endpoint = azure.endpoint();
  options.job_id = azure.job_id();
  options.pool_id = azure.pool_id();
  options.image = azure.image();
  if (!azure.runner_path().empty()) options.runner_path = azure.runner_path();
  options.http.ca_file = azure.ca_file();
  absl::StatusOr<std::unique_ptr<adapters::azure::AzureBatchService>> service =
      adapters::azure::AzureBatchService::Open(options);
  if (!service.ok()) return Prefixed("compute.azure_batch", service.status());
  return Backend("compute.azure_batch", config, azure.key_prefix(),
                 azure.queue_allowance_seconds(), 1, *std::move(service), objects);
}

}  // namespace

absl::StatusOr<std::unique_ptr<adapters::ComputeBackend>> CloudComputeFrom(
    const trenode::v1::NodeConfig& config, adapters::ObjectStore* objects) {
  if (config.compute().has_aws_batch()) return AwsBatchFrom(config, objects);
  if (config.compute().has_azure_batch()) return AzureBatchFrom(config, objects);
  return absl::InvalidArgumentError("compute: no cloud batch backend is configured");
}

}  // namespace trenode::server
