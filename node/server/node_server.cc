#include "node/common/deterministic_bytes.h"
#include "node/server/node_server.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/onprem/sandbox_backend.h"
#include "adapters/onprem/slurm_backend.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "node/rpc/status_interceptor.h"
#include "node/server/cloud_compute_from_config.h"
#include "node/server/object_store_from_config.h"
#include "node/analyses/analyses.h"
#include "node/analyses/analysis_runner.h"
#include "node/analyses/sqlite_analysis_store.h"
#include "node/auth/jwks_provider.h"
#include "node/auth/jwt_verifier.h"
#include "node/auth/roles.h"
#include "node/catalogue/catalogue.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/charging/charging.h"
#include "node/charging/charging_admission.h"
#include "node/charging/prices.h"
#include "node/charging/sqlite_budget_store.h"
#include "node/charging/dataset_meter.h"
#include "node/charging/sqlite_storage_ledger.h"
#include "node/query/compiler.h"
#include "node/query/row_estimate.h"
#include "node/common/files.h"
#include "node/common/status_macros.h"
#include "node/disclosure/policy.h"
#include "node/governance/governance.h"
#include "node/governance/sqlite_governance_store.h"
#include "node/log/activity_log.h"
#include "node/log/log_audit.h"
#include "node/releases/releases.h"
#include "node/rpc/activity_log_service.h"
#include "node/rpc/analyses_service.h"
#include "node/rpc/authenticator.h"
#include "node/rpc/call_gate.h"
#include "federation/contributions.h"
#include "federation/coordinator.h"
#include "federation/federation.h"
#include "federation/grpc_partner_caller.h"
#include "federation/partner_directory.h"
#include "node/rpc/catalogue_service.h"
#include "node/rpc/federation_service.h"
#include "node/rpc/relayed_calls.h"
#include "federation/dial_out.h"
#include "node/rpc/governance_service.h"
#include "node/rpc/releases_service.h"
#include "node/storage/node_schema.h"
#include "node/web/web_server.h"

namespace trenode::server {
namespace {
constexpr int kDatabaseConnections = 4;
constexpr int kMaxServerThreads = 64;
constexpr int kMaxMessageBytes = 16 << 20;
constexpr const char* kServices[] = {"trenode.v1.Catalogue", "trenode.v1.Governance",
                                     "trenode.v1.Analyses", "trenode.v1.Releases",
                                     "trenode.v1.ActivityLog", "trenode.v1.Federation"};

absl::StatusOr<log::NoteSigner> ReadLogKey(const trenode::v1::ActivityLogConfig& config) {
  std::ifstream in(config.signing_key_file());
  std::string line;
  std::getline(in, line);
  absl::StatusOr<log::NoteSigner> signer = log::NoteSigner::FromKeyString(line);
  if (!signer.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("activity_log.signing_key_file: ", config.signing_key_file(), ": ",
                     signer.status().message()));
  }
  return signer;
}

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view field) {
  std::optional<std::string> text = ReadWholeFile(path);
  if (!text || text->find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", path, " is not a PEM file"));
  }
  return *text;
}

// TLS for every caller; a client certificate is asked for and, if sent, must
// chain to the federation CA (people may connect without one and use a token).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const trenode::v1::TlsConfig& tls) {
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem(tls.client_ca_file(), "tls.client_ca_file"));
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.private_key, ReadPem(tls.private_key_file(), "tls.private_key_file"));
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(tls.certificate_file(), "tls.certificate_file"));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(options);
}

// Which configuration and log key the node runs with is itself an event.
absl::Status RecordStart(const trenode::v1::NodeConfig& config, log::ActivityLog& activity_log) {
  log::Hash digest = log::Sha256(DeterministicBytes(config));
  log::ActivityEvent started;
  started.action = "node.start";
  started.object = absl::StrCat("node/", config.node_id());
  started.outcome = "success";
  started.reason = absl::StrCat("log key ", activity_log.signer().VerifierKey());
  if (uint64_t recovered = activity_log.recovered_at_open(); recovered > 0) {
    // Changes committed just before the node stopped, their records kept in
    // the outbox: appended by the log's opening, before this entry.
    absl::StrAppend(&started.reason, "; appended the records of ", recovered,
                    " changes made before the last stop");
    std::cerr << absl::StrCat("trenode: appended the activity-log records of ", recovered,
                              " changes made before the last stop\n");
  }
  started.hashes.push_back(absl::StrCat("sha256:", absl::BytesToHexString(log::HashBytes(digest))));
  auth::Principal self{config.node_id(), trenode::v1::ROLE_NODE_ADMIN,
                       auth::Principal::Kind::kNode};
  return activity_log.Record(self, std::move(started));
}

auth::JwtPolicy PolicyFrom(const trenode::v1::OidcConfig& oidc) {
  auth::JwtPolicy policy;
  policy.issuer = oidc.issuer();
  policy.audiences.insert(oidc.audiences().begin(), oidc.audiences().end());
  if (oidc.clock_skew_seconds() > 0) policy.clock_skew = absl::Seconds(oidc.clock_skew_seconds());
  if (!oidc.roles_claim().empty()) policy.roles_claim = oidc.roles_claim();
  for (const auto& mapping : oidc.role_mappings()) {
    policy.role_map[mapping.claim_value()] = mapping.role();
  }
  if (oidc.role_mappings().empty()) {
    for (int r = trenode::v1::Role_MIN + 1; r <= trenode::v1::Role_MAX; ++r) {
      auto role = static_cast<trenode::v1::Role>(r);
      if (role != trenode::v1::ROLE_PEER_NODE) policy.role_map[auth::RoleName(role)] = role;
    }
  }
  policy.require_mfa = oidc.require_mfa();
  if (!oidc.mfa_methods().empty()) {
    policy.mfa_methods = {oidc.mfa_methods().begin(), oidc.mfa_methods().end()};
  }
  return policy;
}
// This node as GetNodeInfo describes it, without its datasets' themes.
trenode::v1::NodeInfo SelfDescription(const trenode::v1::NodeConfig& config,
                                      const std::string& log_verifier_key,
                                      const std::string& witness_verifier_key) {
  trenode::v1::NodeInfo info;
  info.set_node_id(config.node_id());
  info.set_institution(config.institution());
  info.set_interface_version(federation::kInterfaceVersion);
  info.set_interface_revision(federation::kInterfaceRevision);
  for (const char* capability : {"catalogue", "governance", "aggregate_queries"}) {
    info.add_capabilities(capability);
  }
  if (config.compute().backend_case() != trenode::v1::ComputeConfig::BACKEND_NOT_SET) {
    info.add_capabilities("script_jobs");
  }
  for (const char* capability : {"output_release", "activity_log", "log_witnessing"}) {
    info.add_capabilities(capability);
  }
  info.add_compute_backends("in_process_queries");
  switch (config.compute().backend_case()) {
    case trenode::v1::ComputeConfig::kSandbox:
      info.add_compute_backends("sandbox");
      break;
    case trenode::v1::ComputeConfig::kSlurm:
      info.add_compute_backends("slurm");
      break;
    case trenode::v1::ComputeConfig::kAwsBatch:
      info.add_compute_backends("aws_batch");
      break;
    case trenode::v1::ComputeConfig::kAzureBatch:
      info.add_compute_backends("azure_batch");
      break;
    case trenode::v1::ComputeConfig::BACKEND_NOT_SET:
      break;
  }
  info.set_log_verifier_key(log_verifier_key);
  info.set_witness_verifier_key(witness_verifier_key);
  return info;
}

// A locked-down node's stream timeouts, 0 (unset) taking the defaults.
federation::StreamTimeouts StreamTimeoutsOf(const trenode::v1::FederationConfig& federation) {
  federation::StreamTimeouts timeouts;
  if (federation.stream_open_timeout_seconds() > 0) {
    timeouts.open = absl::Seconds(federation.stream_open_timeout_seconds());
  }
  if (federation.stream_write_timeout_seconds() > 0) {
    timeouts.write = absl::Seconds(federation.stream_write_timeout_seconds());
  }
  return timeouts;
}

// The distinct themes of the active datasets, sorted.
absl::StatusOr<std::vector<std::string>> ActiveThemes(catalogue::CatalogueStore& datasets) {
  std::set<std::string> themes;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<trenode::v1::Dataset> page,
                     datasets.List(after, /*include_retired=*/false, 500));
    if (page.empty()) break;
    for (const auto& dataset : page) themes.insert(dataset.themes().begin(), dataset.themes().end());
    after = page.back().id();
  }
  return std::vector<std::string>(themes.begin(), themes.end());
}

}  // namespace

struct NodeServer::Parts {
  std::unique_ptr<auth::JwksProvider> jwks;
  std::unique_ptr<auth::JwtVerifier> people;
  std::unique_ptr<adapters::ObjectStore> objects;
  std::unique_ptr<adapters::ObjectFiles> object_files;
  std::unique_ptr<storage::SqlitePool> pool;
  std::unique_ptr<catalogue::SqliteCatalogueStore> catalogue_store;
  std::unique_ptr<catalogue::Catalogue> catalogue;
  std::string node_id;
  std::unique_ptr<federation::PartnerDirectory> partners;
  std::unique_ptr<federation::GrpcPartnerCaller> partner_caller;
  std::unique_ptr<federation::Federation> federation;
  std::unique_ptr<rpc::FederationService> federation_service;
  std::unique_ptr<rpc::ForwardedCalls> forwarded_calls;
  std::unique_ptr<rpc::Authenticator> authenticator;
  std::unique_ptr<rpc::CallGate> gate;
  std::unique_ptr<rpc::CatalogueService> catalogue_service;
  std::unique_ptr<governance::SqliteGovernanceStore> governance_store;
  std::unique_ptr<governance::Governance> governance;
  std::unique_ptr<rpc::GovernanceService> governance_service;
  std::unique_ptr<log::ActivityLog> activity_log;
  std::unique_ptr<rpc::ActivityLogService> activity_log_service;
  std::unique_ptr<query::SqlitePersonRegistry> person_registry;
  std::unique_ptr<query::PersonCodesCache> person_codes;
  std::unique_ptr<analyses::SqliteAnalysisStore> analysis_store;
  std::unique_ptr<analyses::Analyses> analyses;
  std::unique_ptr<rpc::AnalysesService> analyses_service;
  std::unique_ptr<charging::PriceTable> prices;
  std::unique_ptr<charging::SqliteBudgetStore> budgets;
  std::unique_ptr<charging::SqliteStorageLedger> storage_ledger;
  std::unique_ptr<charging::DatasetMeter> dataset_meter;
  std::unique_ptr<charging::ChargingAdmission> admission;
  std::unique_ptr<charging::Charging> charging;
  std::unique_ptr<adapters::ComputeBackend> compute;
  std::unique_ptr<releases::SqliteReleaseStore> release_store;
  std::unique_ptr<releases::SqliteLedgerStore> ledger;
  std::unique_ptr<releases::Releases> releases;
  std::unique_ptr<rpc::ReleasesService> releases_service;
  std::unique_ptr<federation::Contributions> contributions;
  // Last: stopped first, while everything they use still exists.
  std::unique_ptr<analyses::AnalysisRunner> runner;
  std::unique_ptr<federation::Coordinator> coordinator;
  std::unique_ptr<federation::SqliteWitnessStore> witness_store;
  std::unique_ptr<federation::Witness> witness;
  std::unique_ptr<federation::CosignatureBook> cosignatures;
  std::unique_ptr<federation::LogRelay> log_relay;
  std::unique_ptr<federation::DialIns> dial_ins;
  std::unique_ptr<rpc::RelayedCalls> relayed_calls;
  std::unique_ptr<federation::DialOut> dial_out;
};

namespace {
query::CompileLimits CompileLimitsFrom(const trenode::v1::ComputeConfig& compute) {
  query::CompileLimits limits;
  if (compute.query_max_categories() > 0) limits.max_categories = compute.query_max_categories();
  return limits;
}

analyses::QueryRunning QueryRunningFrom(const trenode::v1::ComputeConfig& compute,
                                        query::PersonCodesCache* codes) {
  analyses::QueryRunning queries;
  if (compute.query_workers() > 0) queries.workers = compute.query_workers();
  if (compute.query_workers_per_project() > 0) {
    queries.per_project = compute.query_workers_per_project();
  }
  if (compute.query_seconds() > 0) queries.wall = absl::Seconds(compute.query_seconds());
  if (compute.query_cache_mib() > 0) queries.cache_bytes = compute.query_cache_mib() << 20;
  if (compute.query_mmap_mib() > 0) queries.mmap_bytes = compute.query_mmap_mib() << 20;
  queries.limits = CompileLimitsFrom(compute);
  queries.codes = codes;
  return queries;
}

// The compute backend and job limits the config asks for (none: scripts are
// refused at start).
absl::StatusOr<analyses::ScriptRunning> ScriptRunningFrom(
    const trenode::v1::NodeConfig& config, adapters::ObjectStore* objects,
    std::unique_ptr<adapters::ComputeBackend>* compute_backend) {
  analyses::ScriptRunning scripts;
  scripts.objects = objects;
  scripts.jobs_dir = (std::filesystem::path(config.work_dir()) / "jobs").string();
  const trenode::v1::ComputeConfig& compute = config.compute();
  auto or_default = [](int64_t value, int64_t fallback) { return value > 0 ? value : fallback; };
  scripts.limits.cpu = absl::Seconds(or_default(compute.cpu_seconds(), 600));
  scripts.limits.wall = absl::Seconds(or_default(compute.wall_seconds(), 1800));
  scripts.limits.memory_bytes = or_default(compute.memory_mib(), 2048) << 20;
  scripts.limits.output_bytes = or_default(compute.output_mib(), 64) << 20;
  scripts.limits.processes = static_cast<int>(or_default(compute.processes(), 64));
  if (compute.has_sandbox()) {
    adapters::SandboxOptions options;
    options.work_root = (std::filesystem::path(config.work_dir()) / "sandbox").string();
    options.first_uid = compute.sandbox().first_uid() > 0 ? compute.sandbox().first_uid() : 200000;
    options.max_jobs = compute.sandbox().max_jobs() > 0 ? compute.sandbox().max_jobs() : 2;
    absl::StatusOr<std::unique_ptr<adapters::SandboxBackend>> sandbox =
        adapters::SandboxBackend::Create(options);
    if (!sandbox.ok()) {
      return absl::Status(sandbox.status().code(),
                          absl::StrCat("compute.sandbox: ", sandbox.status().message()));
    }
    *compute_backend = std::move(sandbox).value();
    scripts.backend = compute_backend->get();
    scripts.backend_name = "sandbox";
  } else if (compute.has_slurm()) {
    adapters::SlurmOptions options;
    options.work_root = (std::filesystem::path(config.work_dir()) / "slurm").string();
    options.slurm_conf = compute.slurm().slurm_conf();
    options.partition = compute.slurm().partition();
    if (compute.slurm().first_uid() > 0) options.first_uid = compute.slurm().first_uid();
    if (compute.slurm().max_jobs() > 0) options.max_jobs = compute.slurm().max_jobs();
    absl::StatusOr<std::unique_ptr<adapters::SlurmBackend>> slurm =
        adapters::SlurmBackend::Create(options);
    if (!slurm.ok()) {
      return absl::Status(slurm.status().code(),
                          absl::StrCat("compute.slurm: ", slurm.status().message()));
    }
    *compute_backend = std::move(slurm).value();
    scripts.backend = compute_backend->get();
    scripts.backend_name = "slurm";
  } else if (compute.has_aws_batch() || compute.has_azure_batch()) {
    ASSIGN_OR_RETURN(*compute_backend, CloudComputeFrom(config, objects));
    scripts.backend = compute_backend->get();
    scripts.backend_name = compute.has_aws_batch() ? "aws-batch" : "azure-batch";
  }
  return scripts;
}
absl::StatusOr<releases::ReleaseOptions> ReleaseOptionsFrom(const trenode::v1::NodeConfig& config) {
  const trenode::v1::ReleaseConfig& release = config.release();
  releases::ReleaseOptions options;
  options.quorum = release.quorum() > 0 ? release.quorum() : 2;
  options.node_id = config.node_id();
  std::string preset = release.policy().empty() ? "acro" : release.policy();
  std::vector<std::string> overrides(release.policy_overrides().begin(),
                                     release.policy_overrides().end());
  absl::StatusOr<disclosure::Policy> policy =
      disclosure::PolicyFrom(preset, overrides, "release.policy");
  if (!policy.ok()) return policy.status();
  options.policy = *policy;
  options.policy_description = disclosure::Describe(preset, overrides);
  if (!release.allowed_extensions().empty()) {
    options.gates.extensions = {release.allowed_extensions().begin(),
                                release.allowed_extensions().end()};
  }
  if (release.max_file_bytes() > 0) options.gates.max_file_bytes = release.max_file_bytes();
  if (release.max_csv_rows() > 0) options.gates.max_csv_rows = release.max_csv_rows();
  if (release.max_downloads() > 0) options.max_downloads = release.max_downloads();
  return options;
}
}  // namespace

NodeServer::NodeServer() : parts_(std::make_unique<Parts>()) {}

NodeServer::~NodeServer() {
  Shutdown(absl::Seconds(5));
  if (parts_->dial_out) parts_->dial_out->Stop();
  if (parts_->witness) parts_->witness->Stop();
  if (parts_->coordinator) parts_->coordinator->Stop();
  if (parts_->runner) parts_->runner->Stop();
  if (parts_->contributions) parts_->contributions->Stop();
  if (checkpointer_.joinable()) checkpointer_.join();
  // A last checkpoint covers everything logged before the stop.
  if (parts_->activity_log) parts_->activity_log->Checkpoint().IgnoreError();
}

absl::StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(
    const trenode::v1::NodeConfig& config, const std::vector<grpc::Service*>& extra_services) {
  std::unique_ptr<NodeServer> node(new NodeServer());
  Parts& parts = *node->parts_;

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(config.database_path()).parent_path(),
                                      ec);
  std::filesystem::create_directories(config.work_dir(), ec);
  // Imports cut short by the node's last stop: never datasets, only disk.
  ASSIGN_OR_RETURN(int unfinished_imports, ingest::ImportSession::RemoveLeftovers(config.work_dir()));
  if (unfinished_imports > 0) {
    std::cerr << absl::StrCat("trenode: removed ", unfinished_imports,
                              " unfinished imports left by the last stop\n");
  }
  ASSIGN_OR_RETURN(NodeObjects objects, ObjectsFrom(config));
  parts.objects = std::move(objects.store);
  parts.object_files = std::move(objects.files);
  ASSIGN_OR_RETURN(parts.pool,
                   storage::SqlitePool::Open(config.database_path(), kDatabaseConnections,
                                             storage::NodeSchemaMigrations()));
  ASSIGN_OR_RETURN(log::NoteSigner log_key, ReadLogKey(config.activity_log()));
  ASSIGN_OR_RETURN(
      parts.activity_log,
      log::ActivityLog::Open(config.database_path(), std::move(log_key), config.node_id(),
                             &absl::Now, config.activity_log().checkpoint_copy_file()));
  RETURN_IF_ERROR(RecordStart(config, *parts.activity_log));
  parts.catalogue_store = std::make_unique<catalogue::SqliteCatalogueStore>(parts.pool.get());
  parts.catalogue = std::make_unique<catalogue::Catalogue>(
      parts.catalogue_store.get(), parts.objects.get(), &absl::Now, parts.activity_log.get());
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   ServerCredentials(config.tls()));
  if (config.has_oidc()) {
    const auto& oidc = config.oidc();
    absl::Duration refresh =
        absl::Seconds(oidc.jwks_min_refresh_seconds() > 0 ? oidc.jwks_min_refresh_seconds() : 30);
    parts.jwks = oidc.jwks_file().empty()
                     ? auth::HttpsJwksProvider(oidc.jwks_uri(), oidc.jwks_ca_file(), refresh)
                     : auth::FileJwksProvider(oidc.jwks_file(), refresh);
    // Fetch now so that a wrong key source is reported at start, not at the first call.
    if (absl::Status keys = parts.jwks->Keys(false).status(); !keys.ok()) {
      return absl::UnavailableError(absl::StrCat("oidc: ", keys.message()));
    }
    parts.people = std::make_unique<auth::JwtVerifier>(PolicyFrom(oidc), parts.jwks.get());
  }
  std::map<std::string, trenode::v1::Role> services;
  for (const auto& account : config.service_accounts()) services[account.name()] = account.role();
  parts.node_id = config.node_id();
  parts.partners = std::make_unique<federation::PartnerDirectory>(config.federation());
  parts.forwarded_calls = std::make_unique<rpc::ForwardedCalls>();
  parts.authenticator = std::make_unique<rpc::NodeAuthenticator>(
      parts.people.get(), config.node_id(), std::move(services), parts.partners.get(),
      parts.forwarded_calls.get());
  parts.gate = std::make_unique<rpc::CallGate>(parts.authenticator.get(), parts.activity_log.get());
  parts.gate->SetPartnerRate(config.federation().partner_calls_per_second(),
                             config.federation().partner_call_burst());
  ingest::ImportLimits limits;
  limits.max_total_bytes = config.max_import_bytes();
  parts.catalogue_service = std::make_unique<rpc::CatalogueService>(
      parts.gate.get(), parts.catalogue.get(), parts.objects.get(), config.work_dir(), limits);

  parts.governance_store = std::make_unique<governance::SqliteGovernanceStore>(parts.pool.get());
  parts.governance = std::make_unique<governance::Governance>(
      parts.governance_store.get(), parts.catalogue_store.get(), config.node_id(), &absl::Now,
      parts.activity_log.get());

  parts.activity_log_service = std::make_unique<rpc::ActivityLogService>(
      parts.gate.get(), parts.activity_log.get(), parts.governance.get());

  parts.person_registry = std::make_unique<query::SqlitePersonRegistry>(parts.pool.get());
  parts.person_codes = std::make_unique<query::PersonCodesCache>(parts.person_registry.get());
  parts.analysis_store = std::make_unique<analyses::SqliteAnalysisStore>(parts.pool.get());
  parts.analyses = std::make_unique<analyses::Analyses>(
      parts.analysis_store.get(), parts.governance.get(), parts.governance_store.get(),
      parts.catalogue_store.get(), parts.objects.get(), config.node_id(), &absl::Now,
      parts.activity_log.get(), analyses::BundleLimits{}, CompileLimitsFrom(config.compute()));
  parts.analyses_service =
      std::make_unique<rpc::AnalysesService>(parts.gate.get(), parts.analyses.get());
  adapters::ObjectFiles* object_files = parts.object_files.get();
  ASSIGN_OR_RETURN(analyses::ScriptRunning scripts,
                   ScriptRunningFrom(config, parts.objects.get(), &parts.compute));

  // Charging (spec/charging.md): prices, budgets checked at submission,
  // and the budget and statement RPCs.
  ASSIGN_OR_RETURN(charging::PriceTable prices, charging::PriceTable::FromConfig(config.charging()));
  parts.prices = std::make_unique<charging::PriceTable>(std::move(prices));
  parts.budgets = std::make_unique<charging::SqliteBudgetStore>(parts.pool.get());
  parts.storage_ledger = std::make_unique<charging::SqliteStorageLedger>(parts.pool.get());
  scripts.storage = parts.storage_ledger.get();
  adapters::ObjectStore* object_store = parts.objects.get();
  catalogue::SqliteCatalogueStore* datasets_kept = parts.catalogue_store.get();
  parts.dataset_meter = std::make_unique<charging::DatasetMeter>(
      parts.storage_ledger.get(),
      [datasets_kept, object_store](const std::string& dataset_id) -> absl::StatusOr<int64_t> {
        ASSIGN_OR_RETURN(trenode::v1::Dataset dataset, datasets_kept->Get(dataset_id, 0));
        if (dataset.state() == trenode::v1::DATASET_STATE_RETIRED) {
          return absl::NotFoundError(absl::StrCat("dataset \"", dataset_id, "\" is retired"));
        }
        ASSIGN_OR_RETURN(adapters::ObjectInfo info,
                         object_store->Stat(dataset.steward().storage_location()));
        return info.size;
      });
  // Metering follows a change already made; a failure is reported here and
  // caught up when the node next starts (DatasetMeter::Reconcile).
  charging::DatasetMeter* dataset_meter = parts.dataset_meter.get();
  parts.governance->set_on_project_changed([dataset_meter](const trenode::v1::Project& project) {
    if (absl::Status metered = dataset_meter->ProjectChanged(project); !metered.ok()) {
      std::cerr << "trenode: metering the datasets of project " << project.id()
                << " failed (caught up at the next start): " << metered << "\n";
    }
  });
  parts.catalogue->set_on_dataset_changed([dataset_meter](const std::string& dataset_id) {
    if (absl::Status metered = dataset_meter->DatasetChanged(dataset_id); !metered.ok()) {
      std::cerr << "trenode: metering dataset " << dataset_id
                << " for its projects failed (caught up at the next start): " << metered << "\n";
    }
  });
  charging::ScriptBounds bounds;
  bounds.backend = scripts.backend_name;
  bounds.cpu_micros_per_process = absl::ToInt64Microseconds(scripts.limits.cpu);
  bounds.wall_micros = absl::ToInt64Microseconds(scripts.limits.wall);
  bounds.memory_bytes = scripts.limits.memory_bytes;
  bounds.processes = scripts.limits.processes;
  bounds.output_bytes = scripts.limits.output_bytes;
  catalogue::SqliteCatalogueStore* catalogue_store = parts.catalogue_store.get();
  query::CompileLimits compile_limits = CompileLimitsFrom(config.compute());
  query::DatasetPath dataset_path =
      [object_files](const trenode::v1::Dataset& dataset) -> absl::StatusOr<std::string> {
    return object_files->PathOf(dataset.steward().storage_location(), dataset.steward().sha256());
  };
  parts.admission = std::make_unique<charging::ChargingAdmission>(
      parts.prices.get(), parts.budgets.get(), parts.analysis_store.get(), bounds,
      [catalogue_store, dataset_path,
       compile_limits](const trenode::v1::Analysis& analysis) -> absl::StatusOr<int64_t> {
        ASSIGN_OR_RETURN(trenode::v1::Dataset dataset,
                         catalogue_store->Get(analysis.query().dataset_id(), 0));
        ASSIGN_OR_RETURN(query::CompiledQuery compiled,
                         query::CompileQuery(analysis.query(), dataset, compile_limits));
        return query::KeptTableRows(*catalogue_store, dataset_path, dataset, compiled.tables);
      });
  parts.admission->set_storage(parts.storage_ledger.get());
  parts.analyses->SetAdmission(parts.admission.get());
  parts.charging = std::make_unique<charging::Charging>(
      parts.admission.get(), parts.budgets.get(), parts.governance.get(), &absl::Now,
      parts.activity_log.get());
  parts.governance_service = std::make_unique<rpc::GovernanceService>(
      parts.gate.get(), parts.governance.get(), parts.charging.get());
  parts.runner = std::make_unique<analyses::AnalysisRunner>(
      parts.analyses.get(), parts.analysis_store.get(), parts.catalogue_store.get(),
      dataset_path, std::move(scripts), QueryRunningFrom(config.compute(), parts.person_codes.get()));
  parts.runner->SetPrices(parts.prices.get());
  ASSIGN_OR_RETURN(releases::ReleaseOptions release_options, ReleaseOptionsFrom(config));
  parts.release_store = std::make_unique<releases::SqliteReleaseStore>(parts.pool.get());
  parts.ledger = std::make_unique<releases::SqliteLedgerStore>(parts.pool.get());
  parts.releases = std::make_unique<releases::Releases>(
      parts.release_store.get(), parts.ledger.get(), parts.analysis_store.get(), parts.governance_store.get(),
      parts.governance.get(), parts.objects.get(), std::move(release_options), &absl::Now,
      parts.activity_log.get());
  parts.releases->set_storage(parts.storage_ledger.get());
  parts.releases->set_storage_quota(
      [admission = parts.admission.get()](const std::string& project_id, int64_t bytes,
                                          absl::string_view what, absl::string_view needed_for) {
        return admission->CheckStorage(project_id, bytes, what, needed_for);
      });
  parts.releases_service = std::make_unique<rpc::ReleasesService>(
      parts.gate.get(), parts.releases.get(), parts.objects.get());
  ASSIGN_OR_RETURN(parts.partner_caller, federation::GrpcPartnerCaller::FromFiles(config.tls()));
  parts.dial_ins = std::make_unique<federation::DialIns>(parts.partners.get());
  parts.dial_ins->SetWriteTimeout(StreamTimeoutsOf(config.federation()).write);
  parts.partner_caller->RouteDialInsThrough(parts.dial_ins.get());
  catalogue::CatalogueStore* datasets = parts.catalogue_store.get();
  const log::NoteSigner& log_signer = parts.activity_log->signer();
  ASSIGN_OR_RETURN(log::NoteSigner witness_key,
                   log_signer.DeriveCosigner(absl::StrCat(log_signer.name(), "/witness")));
  trenode::v1::NodeInfo self =
      SelfDescription(config, log_signer.VerifierKey(), witness_key.VerifierKey());
  ASSIGN_OR_RETURN(*self.mutable_witness_key_note(),
                   log::WitnessKeyNote(log_signer, config.node_id(), witness_key.VerifierKey()));
  parts.federation = std::make_unique<federation::Federation>(
      self,
      [datasets] { return ActiveThemes(*datasets); }, parts.partners.get(),
      parts.partner_caller.get());
  parts.contributions = std::make_unique<federation::Contributions>(
      config.node_id(), parts.analyses.get(), parts.analysis_store.get(), parts.releases.get(),
      parts.release_store.get(), parts.governance_store.get(), parts.objects.get(),
      parts.activity_log.get());
  parts.coordinator = std::make_unique<federation::Coordinator>(
      config.node_id(), parts.analyses.get(), parts.analysis_store.get(),
      parts.release_store.get(), parts.partners.get(), parts.partner_caller.get(),
      parts.contributions.get(), parts.objects.get(), federation::Coordinator::Options{});
  federation::Coordinator* coordinator = parts.coordinator.get();
  parts.analyses->SetSiteCheck(
      [coordinator](const std::vector<std::string>& nodes) { return coordinator->CheckSites(nodes); });
  parts.witness_store = std::make_unique<federation::SqliteWitnessStore>(parts.pool.get());
  parts.witness = std::make_unique<federation::Witness>(
      config.node_id(), std::move(witness_key), parts.partners.get(), parts.partner_caller.get(),
      parts.witness_store.get(), parts.activity_log.get(), &absl::Now);
  ASSIGN_OR_RETURN(log::NoteVerifier own_log,
                   log::NoteVerifier::FromVerifierKey(log_signer.VerifierKey()));
  parts.cosignatures = std::make_unique<federation::CosignatureBook>(
      config.node_id(), std::move(own_log), parts.witness_store.get(), parts.activity_log.get(),
      &absl::Now);
  log::ActivityLog* activity_log = parts.activity_log.get();
  federation::OwnLog own_log_access{
      [self] { return self; },
      [activity_log] { return rpc::ActivityLogService::CurrentCheckpoint(*activity_log); },
      [activity_log](uint64_t from, uint64_t to) { return activity_log->ConsistencyProof(from, to); }};
  parts.log_relay = std::make_unique<federation::LogRelay>(
      std::move(own_log_access), parts.cosignatures.get(), parts.witness_store.get(),
      parts.partners.get(), parts.partner_caller.get());
  parts.federation_service = std::make_unique<rpc::FederationService>(
      parts.gate.get(), parts.federation.get(), parts.contributions.get(), parts.catalogue.get(),
      rpc::Witnessing{parts.witness.get(), parts.cosignatures.get(), parts.log_relay.get()},
      parts.dial_ins.get());
  parts.relayed_calls = std::make_unique<rpc::RelayedCalls>(rpc::RelayedParts{
      parts.gate.get(), parts.partners.get(), parts.federation.get(), parts.contributions.get(),
      parts.cosignatures.get(), parts.activity_log.get(), parts.catalogue.get()});
  if (config.federation().locked_down()) {
    rpc::RelayedCalls* relayed = parts.relayed_calls.get();
    parts.dial_out = std::make_unique<federation::DialOut>(
        parts.partners.get(), parts.partner_caller.get(),
        [relayed](const std::string& partner, const trenode::v1::RelayedCall& call) {
          return relayed->Serve(partner, call);
        },
        StreamTimeoutsOf(config.federation()));
  }
  {
    absl::StatusOr<std::vector<trenode::v1::Project>> projects =
        parts.governance_store->ProjectsInStates(
            {trenode::v1::PROJECT_STATE_APPROVED, trenode::v1::PROJECT_STATE_SUSPENDED,
             trenode::v1::PROJECT_STATE_CLOSED});
    absl::Status metered =
        projects.ok() ? parts.dataset_meter->Reconcile(*projects) : projects.status();
    if (!metered.ok()) {
      std::cerr << "trenode: catching up the metering of approved datasets failed: " << metered
                << "\n";
    }
  }
  if (absl::Status settled = parts.runner->Reconcile(); !settled.ok()) {
    return absl::Status(settled.code(),
                        absl::StrCat("settling unfinished analyses: ", settled.message()));
  }
  if (absl::Status started = parts.releases->Start(); !started.ok()) {
    return absl::Status(started.code(),
                        absl::StrCat("resuming releases being prepared: ", started.message()));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  grpc::ResourceQuota quota("trenode");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  // Partners ping every 20 s (keeping locked-down partners' streams alive);
  // this node pings idle connections to drop dead ones.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<rpc::ParseFailureInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.AddListeningPort(config.listen_address(), credentials, &node->port_);
  builder.RegisterService(parts.catalogue_service.get());
  builder.RegisterService(parts.governance_service.get());
  builder.RegisterService(parts.analyses_service.get());
  builder.RegisterService(parts.releases_service.get());
  builder.RegisterService(parts.activity_log_service.get());
  builder.RegisterService(parts.federation_service.get());
  for (grpc::Service* service : extra_services) builder.RegisterService(service);
  node->server_ = builder.BuildAndStart();
  if (!node->server_ || node->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen_address(),
                                               " (in use, or not an address of this machine)"));
  }
  if (config.has_web()) {
    // The JSON API calls this server over its in-process channel, so that
    // every call meets the same gate, table, log and handlers.
    grpc::ChannelArguments channel_args;
    channel_args.SetMaxReceiveMessageSize(-1);
    ASSIGN_OR_RETURN(node->web_, web::WebServer::Start(config.web(), config.tls(), config.oidc(),
                                                       node->server_->InProcessChannel(channel_args),
                                                       parts.forwarded_calls.get()));
  }
  absl::Duration interval = absl::Seconds(config.activity_log().checkpoint_interval_seconds() > 0
                                              ? config.activity_log().checkpoint_interval_seconds()
                                              : 2);
  NodeServer* raw = node.get();
  node->checkpointer_ = std::thread([raw, interval] {
    bool serving = true;
    while (!raw->stop_checkpoints_.WaitForNotificationWithTimeout(interval)) {
      if (absl::Status s = raw->parts_->gate->FlushRefusals(); !s.ok()) {
        std::cerr << "trenode: cannot record refusal summaries: " << s.message() << "\n";
      }
      absl::Status signed_checkpoint = raw->parts_->activity_log->Checkpoint().status();
      if (!signed_checkpoint.ok()) {
        std::cerr << "trenode: cannot sign a checkpoint: " << signed_checkpoint.message() << "\n";
      }
      // A node whose log cannot write refuses every call it would record:
      // its health says so until the log writes again.
      bool can_serve = signed_checkpoint.ok() && raw->parts_->activity_log->writing();
      if (can_serve != serving && !raw->stop_checkpoints_.HasBeenNotified()) {
        serving = can_serve;
        raw->SetServing(serving);
        std::cerr << (serving ? "trenode: the activity log writes again; serving\n"
                              : "trenode: the activity log cannot write; health NOT_SERVING\n");
      }
    }
    (void)raw->parts_->gate->FlushRefusals(/*now_all=*/true);
  });
  parts.runner->Start();
  parts.coordinator->Start();
  if (parts.dial_out) parts.dial_out->Start();
  const int witness_every = config.federation().witness_interval_seconds();
  parts.witness->Start(absl::Seconds(witness_every > 0 ? witness_every : 60));
  node->SetServing(true);
  return node;
}

void NodeServer::SetServing(bool serving) {
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("", serving);
  for (const char* service : kServices) health->SetServingStatus(service, serving);
}

void NodeServer::WitnessPartnersNow() { parts_->witness->CheckAll(); }

absl::StatusOr<std::string> NodeServer::ReloadPartners(const trenode::v1::NodeConfig& config) {
  if (config.node_id() != parts_->node_id) {
    return absl::InvalidArgumentError(absl::StrCat("node_id: the file now says \"",
                                                   config.node_id(), "\", this node is ",
                                                   parts_->node_id, "; restart to change it"));
  }
  trenode::v1::FederationConfig before;
  for (auto& partner : parts_->partners->All()) *before.add_partners() = std::move(partner);
  federation::PartnerDirectory::Change change = parts_->partners->Replace(config.federation());
  const int witness_every = config.federation().witness_interval_seconds();
  parts_->witness->Reschedule(absl::Seconds(witness_every > 0 ? witness_every : 60));
  parts_->gate->SetPartnerRate(config.federation().partner_calls_per_second(),
                               config.federation().partner_call_burst());
  if (parts_->dial_out) parts_->dial_out->SetTimeouts(StreamTimeoutsOf(config.federation()));
  parts_->dial_ins->SetWriteTimeout(StreamTimeoutsOf(config.federation()).write);
  if (change.empty()) return std::string("partners unchanged");
  std::string summary = absl::StrCat("partners added [", absl::StrJoin(change.added, ","),
                                     "] removed [", absl::StrJoin(change.removed, ","),
                                     "] readdressed [", absl::StrJoin(change.moved, ","), "]");
  log::ActivityEvent event;
  event.action = "federation.partners";
  event.object = absl::StrCat("node/", config.node_id());
  event.outcome = "success";
  event.reason = summary;
  auth::Principal self{config.node_id(), trenode::v1::ROLE_NODE_ADMIN,
                       auth::Principal::Kind::kNode};
  if (absl::Status logged = parts_->activity_log->Record(self, std::move(event)); !logged.ok()) {
    // Not recorded, not made: the list goes back as it was.
    parts_->partners->Replace(before);
    return logged;
  }
  // A partner removed, or no longer dialling in, loses its open stream.
  parts_->dial_ins->CloseUnlisted();
  return summary;
}

void NodeServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  stop_checkpoints_.Notify();
  // Answers partners are held for are given now.
  if (parts_->contributions) parts_->contributions->Stop();
  server_->GetHealthCheckService()->SetServingStatus(false);
  // Partners' streams stay open until closed: close them, and stop dialling.
  if (parts_->dial_ins) parts_->dial_ins->CloseAll();
  if (parts_->dial_out) parts_->dial_out->Stop();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  // After the server: its calls have ended, so the JSON API's streams have.
  if (web_) web_->Stop();
}

int NodeServer::web_port() const { return web_ ? web_->port() : 0; }

void NodeServer::Wait() {
  if (server_) server_->Wait();
}

}  // namespace trenode::server
