#include "node/auth/authorization.h"

#include "absl/strings/str_cat.h"
#include "node/auth/roles.h"

namespace trenode::auth {
namespace {
using trenode::v1::Role;

const std::set<Role> kStewards = {trenode::v1::ROLE_DATA_STEWARD};
const std::set<Role> kResearchers = {trenode::v1::ROLE_RESEARCHER};
// Output checkers review results; auditors and admins see analyses' records.
const std::set<Role> kAnalysisReaders = {
    trenode::v1::ROLE_RESEARCHER, trenode::v1::ROLE_DATA_STEWARD, trenode::v1::ROLE_OUTPUT_CHECKER,
    trenode::v1::ROLE_AUDITOR, trenode::v1::ROLE_NODE_ADMIN};
const std::set<Role> kOutputCheckers = {trenode::v1::ROLE_OUTPUT_CHECKER};
const std::set<Role> kRevokers = {trenode::v1::ROLE_OUTPUT_CHECKER, trenode::v1::ROLE_DATA_STEWARD};
// Researchers download released files; checkers read files under review.
const std::set<Role> kDownloaders = {trenode::v1::ROLE_RESEARCHER,
                                     trenode::v1::ROLE_OUTPUT_CHECKER};
const std::set<Role> kAnalysisCancellers = {
    trenode::v1::ROLE_RESEARCHER, trenode::v1::ROLE_DATA_STEWARD, trenode::v1::ROLE_NODE_ADMIN};
// Roles that oversee projects: they may read every project record.
const std::set<Role> kProjectReaders = {
    trenode::v1::ROLE_RESEARCHER, trenode::v1::ROLE_DATA_STEWARD, trenode::v1::ROLE_OUTPUT_CHECKER,
    trenode::v1::ROLE_AUDITOR, trenode::v1::ROLE_NODE_ADMIN};
const std::set<Role> kLogReaders = {trenode::v1::ROLE_AUDITOR, trenode::v1::ROLE_NODE_ADMIN};
// Researchers only for their own projects' events (checked by the service).
const std::set<Role> kLogReadersAndResearchers = {
    trenode::v1::ROLE_AUDITOR, trenode::v1::ROLE_NODE_ADMIN, trenode::v1::ROLE_RESEARCHER};
// Partner nodes witness that the log only grows.
const std::set<Role> kLogWitnesses = {trenode::v1::ROLE_AUDITOR, trenode::v1::ROLE_NODE_ADMIN,
                                      trenode::v1::ROLE_PEER_NODE};
const std::set<Role> kResearchersAndStewards = {trenode::v1::ROLE_RESEARCHER,
                                                trenode::v1::ROLE_DATA_STEWARD};
const std::set<Role> kPeopleRecords = {trenode::v1::ROLE_RESEARCHER, trenode::v1::ROLE_DATA_STEWARD,
                                       trenode::v1::ROLE_AUDITOR, trenode::v1::ROLE_NODE_ADMIN};
const std::set<Role> kEveryRole = {trenode::v1::ROLE_RESEARCHER,     trenode::v1::ROLE_DATA_STEWARD,
                                   trenode::v1::ROLE_OUTPUT_CHECKER, trenode::v1::ROLE_AUDITOR,
                                   trenode::v1::ROLE_NODE_ADMIN,     trenode::v1::ROLE_PEER_NODE};
const std::set<Role> kPeerNodes = {trenode::v1::ROLE_PEER_NODE};
const std::set<Role> kEveryPerson = {trenode::v1::ROLE_RESEARCHER, trenode::v1::ROLE_DATA_STEWARD,
                                    trenode::v1::ROLE_OUTPUT_CHECKER, trenode::v1::ROLE_AUDITOR,
                                    trenode::v1::ROLE_NODE_ADMIN};
}  // namespace

const std::map<std::string, std::set<Role>, std::less<>>& AuthorizationTable() {
  static const auto* table = new std::map<std::string, std::set<Role>, std::less<>>{
      {"/trenode.v1.Catalogue/RegisterDataset", kStewards},
      {"/trenode.v1.Catalogue/ImportDataset", kStewards},
      {"/trenode.v1.Catalogue/ImportDatasetWithProgress", kStewards},
      {"/trenode.v1.Catalogue/UpdateDataset", kStewards},
      {"/trenode.v1.Catalogue/RetireDataset", kStewards},
      {"/trenode.v1.Catalogue/GetDataset", kEveryRole},
      {"/trenode.v1.Catalogue/ListDatasets", kEveryRole},
      {"/trenode.v1.Catalogue/SearchDatasets", kEveryRole},
      // Researchers act on their own projects and records only (the domain
      // checks which); spec/governance.md.
      {"/trenode.v1.Governance/CreateProject", kResearchersAndStewards},
      {"/trenode.v1.Governance/GetProject", kProjectReaders},
      {"/trenode.v1.Governance/ListProjects", kProjectReaders},
      {"/trenode.v1.Governance/ApproveProject", kStewards},
      {"/trenode.v1.Governance/RejectProject", kStewards},
      {"/trenode.v1.Governance/SuspendProject", kStewards},
      {"/trenode.v1.Governance/ResumeProject", kStewards},
      {"/trenode.v1.Governance/CloseProject", kStewards},
      {"/trenode.v1.Governance/ProposeMember", kResearchersAndStewards},
      {"/trenode.v1.Governance/ApproveMember", kStewards},
      {"/trenode.v1.Governance/RevokeMember", kStewards},
      {"/trenode.v1.Governance/ListMembers", kProjectReaders},
      {"/trenode.v1.Governance/RecordTraining", kStewards},
      {"/trenode.v1.Governance/ListTraining", kPeopleRecords},
      {"/trenode.v1.Governance/CheckAccess", kPeopleRecords},
      {"/trenode.v1.Governance/ListApprovedProjects", kEveryRole},
      // Charging (spec/charging.md): whoever may see the project reads its
      // budget and statement (researchers only their own projects: the
      // domain checks); stewards set budgets.
      {"/trenode.v1.Governance/GetBudget", kProjectReaders},
      {"/trenode.v1.Governance/SetBudget", kStewards},
      {"/trenode.v1.Governance/GetProjectUsage", kProjectReaders},
      // Checkpoints reveal only a size and a root (spec/activity-log.md).
      {"/trenode.v1.Analyses/SubmitAnalysis", kResearchers},
      {"/trenode.v1.Analyses/EstimateAnalysis", kResearchers},
      {"/trenode.v1.Analyses/GetAnalysis", kAnalysisReaders},
      {"/trenode.v1.Analyses/ListAnalyses", kAnalysisReaders},
      {"/trenode.v1.Analyses/WatchAnalysis", kAnalysisReaders},
      {"/trenode.v1.Analyses/CancelAnalysis", kAnalysisCancellers},
      {"/trenode.v1.Analyses/ApproveAnalysis", kStewards},
      {"/trenode.v1.Analyses/RejectAnalysis", kStewards},
      {"/trenode.v1.Analyses/UploadBundle", kResearchers},
      {"/trenode.v1.Analyses/GetBundle", kAnalysisReaders},
      {"/trenode.v1.Analyses/ListBundles", kAnalysisReaders},
      {"/trenode.v1.Analyses/ApproveBundle", kStewards},

      {"/trenode.v1.Releases/CreateRelease", kResearchers},
      {"/trenode.v1.Releases/SubmitRelease", kResearchers},
      {"/trenode.v1.Releases/GetRelease", kAnalysisReaders},
      {"/trenode.v1.Releases/ListReleases", kAnalysisReaders},
      {"/trenode.v1.Releases/ReviewRelease", kOutputCheckers},
      {"/trenode.v1.Releases/WithdrawRelease", kResearchers},
      {"/trenode.v1.Releases/RevokeRelease", kRevokers},
      {"/trenode.v1.Releases/DownloadFile", kDownloaders},

      {"/trenode.v1.ActivityLog/GetCheckpoint", kEveryRole},
      {"/trenode.v1.ActivityLog/GetEntries", kLogReadersAndResearchers},
      {"/trenode.v1.ActivityLog/WatchEntries", kLogReadersAndResearchers},
      {"/trenode.v1.ActivityLog/GetInclusionProof", kLogReaders},
      {"/trenode.v1.ActivityLog/GetConsistencyProof", kLogWitnesses},

      // Partners learn who this node is; its own people see the partners.
      {"/trenode.v1.Federation/GetNodeInfo", kEveryRole},
      {"/trenode.v1.Federation/ListPartners", kEveryPerson},
      {"/trenode.v1.Federation/SearchFederation", kEveryPerson},
      // Partners ask for federated analyses' parts; the person is theirs.
      {"/trenode.v1.Federation/SubmitContribution", kPeerNodes},
      {"/trenode.v1.Federation/GetContribution", kPeerNodes},
      {"/trenode.v1.Federation/CancelContribution", kPeerNodes},
      // Partners witness each other's logs; auditors read what they saw.
      {"/trenode.v1.Federation/AddCosignature", kPeerNodes},
      {"/trenode.v1.Federation/GetCosignatures", kEveryRole},
      {"/trenode.v1.Federation/GetWitnessStatus", kLogReaders},
      {"/trenode.v1.Federation/GetFederationLogs", kLogReaders},
      // A locked-down partner opens the stream its calls come down.
      {"/trenode.v1.Federation/Attend", kPeerNodes},
  };
  return *table;
}

absl::Status Authorize(const Principal& caller, absl::string_view full_method) {
  if (caller.role == trenode::v1::ROLE_UNSPECIFIED) {
    return absl::UnauthenticatedError("the caller is not authenticated");
  }
  const auto& table = AuthorizationTable();
  auto entry = table.find(full_method);
  if (entry == table.end() || !entry->second.contains(caller.role)) {
    return absl::PermissionDeniedError(
        absl::StrCat("role ", RoleName(caller.role), " may not call ", full_method));
  }
  return absl::OkStatus();
}

}  // namespace trenode::auth
