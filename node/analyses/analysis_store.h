// AnalysisStore: durable analyses and their state-change history. The domain
// (Analyses) decides what is allowed; the store keeps each change atomic: an
// analysis and the event that records its change are written together or not
// at all. Implementations are thread-safe.
#ifndef TRENODE_NODE_ANALYSES_ANALYSIS_STORE_H_
#define TRENODE_NODE_ANALYSES_ANALYSIS_STORE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "trenode/v1/analyses.pb.h"

namespace trenode::analyses {

struct AnalysisFilter {
  std::string project_id;                                                      // empty: any
  std::string submitter;                                                       // empty: any
  trenode::v1::AnalysisState state = trenode::v1::ANALYSIS_STATE_UNSPECIFIED;  // any
};

struct BundleProposalFilter {
  std::string project_id;          // empty: any
  std::string proposed_by;         // empty: anyone
  std::string sha256;              // empty: any
  bool awaiting_approval = false;  // only those not approved for their project
};

struct PositionedProposal {
  int64_t position = 0;  // increases with each new proposal
  trenode::v1::BundleProposal proposal;
};

class AnalysisStore {
 public:
  virtual ~AnalysisStore() = default;

  // Stores a new analysis and its first event. AlreadyExists if its id or its
  // (submitter, request_id) is taken.
  virtual absl::Status Create(const trenode::v1::Analysis& analysis, const std::string& body_sha256,
                              const trenode::v1::AnalysisEvent& first) = 0;
  // The analysis `submitter` sent under `request_id`, with its body hash.
  virtual absl::StatusOr<std::optional<std::pair<trenode::v1::Analysis, std::string>>>
  FindByRequest(const std::string& submitter, const std::string& request_id) = 0;
  // NotFound.
  virtual absl::StatusOr<trenode::v1::Analysis> Get(const std::string& id) = 0;
  // Replaces the analysis and appends `event` if its stored state is still
  // `expected`; Aborted if another change came first; NotFound. Every
  // change has a greater `sequence` than the record it replaces, so that
  // (id, sequence) names one version of a record (Versions).
  virtual absl::Status Update(const trenode::v1::Analysis& analysis,
                              trenode::v1::AnalysisState expected,
                              const trenode::v1::AnalysisEvent& event) = 0;
  // Matching analyses by id after `after_id`: at most `limit`, and no more
  // once their stored records pass `max_bytes` together (at least one), so
  // that a page of large results stays bounded; `*cut` tells whether the
  // byte budget ended the page.
  virtual absl::StatusOr<std::vector<trenode::v1::Analysis>> List(const AnalysisFilter& filter,
                                                                  const std::string& after_id,
                                                                  int limit, int64_t max_bytes,
                                                                  bool* cut) = 0;
  // The id and sequence of each matching analysis, by id, without reading
  // their records: what changed since a reader last looked.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Versions(
      const AnalysisFilter& filter) = 0;
  // Every analysis in one of `states`, oldest id first.
  virtual absl::StatusOr<std::vector<trenode::v1::Analysis>> InStates(
      const std::vector<trenode::v1::AnalysisState>& states) = 0;
  // Every analysis cancelled while it ran whose usage is not yet kept
  // (state cancelled and metering_pending), oldest id first, found without
  // reading the other analyses (an index on the flag).
  virtual absl::StatusOr<std::vector<trenode::v1::Analysis>> MeteringPending() = 0;
  // Events of analysis `id` with sequence >= `from_sequence`, in order.
  virtual absl::StatusOr<std::vector<trenode::v1::AnalysisEvent>> Events(const std::string& id,
                                                                         int64_t from_sequence) = 0;

  // Keeps what disclosure control needs beside an analysis's result (a
  // serialized trenode.internal.QueryInternals), replacing any kept before.
  virtual absl::Status PutInternals(const std::string& analysis_id, const std::string& bytes) = 0;
  // NotFound if nothing was kept.
  virtual absl::StatusOr<std::string> GetInternals(const std::string& analysis_id) = 0;

  // Stores a bundle's record unless one with its hash exists (the first
  // upload's record stays), and `proposal` (without its bundle) unless its
  // proposer has one for the hash and project: both in one transaction.
  virtual absl::Status PutBundle(const trenode::v1::Bundle& bundle,
                                 const trenode::v1::BundleProposal& proposal) = 0;
  // Matching proposals in upload order after position `after` (0: from the
  // first), at most `limit`, each with its position, `approved` set and its
  // bundle (with every approval) filled in.
  virtual absl::StatusOr<std::vector<PositionedProposal>> ListBundleProposals(
      const BundleProposalFilter& filter, int64_t after, int limit) = 0;
  // For each of `sha256s` that `person` proposed, the projects they proposed
  // it for (a hash they never proposed is absent). One read, however many.
  virtual absl::StatusOr<absl::flat_hash_map<std::string, std::vector<std::string>>>
  ProjectsProposedBy(const std::string& person, const std::vector<std::string>& sha256s) = 0;
  // The bundle with its approvals. NotFound.
  virtual absl::StatusOr<trenode::v1::Bundle> GetBundle(const std::string& sha256) = 0;
  // Records (or replaces) the approval of a bundle for a project.
  virtual absl::Status ApproveBundle(const std::string& sha256,
                                     const trenode::v1::BundleApproval& approval) = 0;
};

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_ANALYSIS_STORE_H_
