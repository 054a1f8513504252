// GovernanceStore: durable projects, memberships and training records. The
// domain (Governance) decides what is allowed; the store keeps records
// consistent. Implementations are thread-safe.
#ifndef TRENODE_NODE_GOVERNANCE_GOVERNANCE_STORE_H_
#define TRENODE_NODE_GOVERNANCE_GOVERNANCE_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trenode/v1/governance.pb.h"

namespace trenode::governance {

class GovernanceStore {
 public:
  virtual ~GovernanceStore() = default;

  // AlreadyExists for a taken id.
  virtual absl::Status CreateProject(const trenode::v1::Project& project) = 0;
  // NotFound.
  virtual absl::StatusOr<trenode::v1::Project> GetProject(const std::string& id) = 0;
  // Replaces the project if its stored state is still `expected_state`,
  // and puts `membership` (if set) with it, all or nothing; Aborted if
  // another change came first; NotFound.
  virtual absl::Status UpdateProject(
      const trenode::v1::Project& project, trenode::v1::ProjectState expected_state,
      const std::optional<trenode::v1::Membership>& membership = std::nullopt) = 0;
  // Projects by id after `after_id`, at most `limit`; with `person`, only
  // those it leads or has a membership (not revoked) of.
  virtual absl::StatusOr<std::vector<trenode::v1::Project>> ListProjects(
      const std::string& after_id, int limit, const std::optional<std::string>& person) = 0;
  // Every project in `state`, by id.
  virtual absl::StatusOr<std::vector<trenode::v1::Project>> ProjectsInStates(
      const std::vector<trenode::v1::ProjectState>& states) = 0;

  // The membership of `person` in `project_id`, if any.
  virtual absl::StatusOr<std::optional<trenode::v1::Membership>> GetMembership(
      const std::string& project_id, const std::string& person) = 0;
  // Inserts or replaces the membership of (project_id, person).
  virtual absl::Status PutMembership(const trenode::v1::Membership& membership) = 0;
  virtual absl::StatusOr<std::vector<trenode::v1::Membership>> ListMembers(
      const std::string& project_id) = 0;

  virtual absl::Status AddTraining(const trenode::v1::TrainingRecord& record) = 0;
  // Oldest first.
  virtual absl::StatusOr<std::vector<trenode::v1::TrainingRecord>> ListTraining(
      const std::string& person) = 0;
};

}  // namespace trenode::governance

#endif  // TRENODE_NODE_GOVERNANCE_GOVERNANCE_STORE_H_
