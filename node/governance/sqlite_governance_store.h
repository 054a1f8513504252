// The GovernanceStore in the node's SQLite database (node/storage/node_schema.cc).
// Thread-safe: each call leases a connection.
#ifndef TRENODE_NODE_GOVERNANCE_SQLITE_GOVERNANCE_STORE_H_
#define TRENODE_NODE_GOVERNANCE_SQLITE_GOVERNANCE_STORE_H_

#include "node/governance/governance_store.h"
#include "node/storage/sqlite_pool.h"

namespace trenode::governance {

class SqliteGovernanceStore : public GovernanceStore {
 public:
  // `pool` must outlive the store and have the node schema applied.
  explicit SqliteGovernanceStore(storage::SqlitePool* pool) : pool_(pool) {}

  absl::Status CreateProject(const trenode::v1::Project& project) override;
  absl::StatusOr<trenode::v1::Project> GetProject(const std::string& id) override;
  absl::Status UpdateProject(const trenode::v1::Project& project,
                             trenode::v1::ProjectState expected_state,
                             const std::optional<trenode::v1::Membership>& membership) override;
  absl::StatusOr<std::vector<trenode::v1::Project>> ListProjects(
      const std::string& after_id, int limit, const std::optional<std::string>& person) override;
  absl::StatusOr<std::vector<trenode::v1::Project>> ProjectsInStates(
      const std::vector<trenode::v1::ProjectState>& states) override;
  absl::StatusOr<std::optional<trenode::v1::Membership>> GetMembership(
      const std::string& project_id, const std::string& person) override;
  absl::Status PutMembership(const trenode::v1::Membership& membership) override;
  absl::StatusOr<std::vector<trenode::v1::Membership>> ListMembers(
      const std::string& project_id) override;
  absl::Status AddTraining(const trenode::v1::TrainingRecord& record) override;
  absl::StatusOr<std::vector<trenode::v1::TrainingRecord>> ListTraining(
      const std::string& person) override;

 private:
  storage::SqlitePool* pool_;
};

}  // namespace trenode::governance

#endif  // TRENODE_NODE_GOVERNANCE_SQLITE_GOVERNANCE_STORE_H_
