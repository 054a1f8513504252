// The AnalysisStore in the node's SQLite database (node/storage/node_schema.cc).
// Thread-safe: each call leases a connection.
#ifndef TRENODE_NODE_ANALYSES_SQLITE_ANALYSIS_STORE_H_
#define TRENODE_NODE_ANALYSES_SQLITE_ANALYSIS_STORE_H_

#include "node/analyses/analysis_store.h"
#include "node/storage/sqlite_pool.h"

namespace trenode::analyses {

class SqliteAnalysisStore : public AnalysisStore {
 public:
  // `pool` must outlive the store and have the node schema applied.
  explicit SqliteAnalysisStore(storage::SqlitePool* pool) : pool_(pool) {}
  // The SELECT that List runs for `filter` (ids after ?, then limit ?).
  static std::string ListSql(const AnalysisFilter& filter);
  // The SELECT that Versions runs for `filter`.
  static std::string VersionsSql(const AnalysisFilter& filter);

  absl::Status Create(const trenode::v1::Analysis& analysis, const std::string& body_sha256,
                      const trenode::v1::AnalysisEvent& first) override;
  absl::StatusOr<std::optional<std::pair<trenode::v1::Analysis, std::string>>> FindByRequest(
      const std::string& submitter, const std::string& request_id) override;
  absl::StatusOr<trenode::v1::Analysis> Get(const std::string& id) override;
  absl::Status Update(const trenode::v1::Analysis& analysis, trenode::v1::AnalysisState expected,
                      const trenode::v1::AnalysisEvent& event) override;
  absl::StatusOr<std::vector<trenode::v1::Analysis>> List(const AnalysisFilter& filter,
                                                          const std::string& after_id, int limit,
                                                          int64_t max_bytes, bool* cut) override;
  absl::StatusOr<std::vector<trenode::v1::Analysis>> MeteringPending() override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Versions(
      const AnalysisFilter& filter) override;
  absl::StatusOr<std::vector<trenode::v1::Analysis>> InStates(
      const std::vector<trenode::v1::AnalysisState>& states) override;
  absl::StatusOr<std::vector<trenode::v1::AnalysisEvent>> Events(const std::string& id,
                                                                 int64_t from_sequence) override;
  absl::Status PutInternals(const std::string& analysis_id, const std::string& bytes) override;
  absl::StatusOr<std::string> GetInternals(const std::string& analysis_id) override;
  absl::Status PutBundle(const trenode::v1::Bundle& bundle,
                         const trenode::v1::BundleProposal& proposal) override;
  absl::StatusOr<std::vector<PositionedProposal>> ListBundleProposals(
      const BundleProposalFilter& filter, int64_t after, int limit) override;
  absl::StatusOr<absl::flat_hash_map<std::string, std::vector<std::string>>> ProjectsProposedBy(
      const std::string& person, const std::vector<std::string>& sha256s) override;
  absl::StatusOr<trenode::v1::Bundle> GetBundle(const std::string& sha256) override;
  absl::Status ApproveBundle(const std::string& sha256,
                             const trenode::v1::BundleApproval& approval) override;

 private:
  storage::SqlitePool* pool_;
};

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_SQLITE_ANALYSIS_STORE_H_
