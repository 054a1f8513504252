// Contributions: a partner's side of federated analyses. A partner node asks
// for a query to be run for one of its researchers; this node treats that
// person as subject@partner, acting via the partner, and from there on
// everything is this node's own: the analysis is submitted, approved, queued
// and run as any other, and its output leaves only through this node's
// release workflow (created and submitted for the person once the analysis
// succeeds: auto-released where the project's policy allows, otherwise held
// for this node's checkers). Knows nothing of gRPC. Thread-safe.
#ifndef TRENODE_FEDERATION_CONTRIBUTIONS_H_
#define TRENODE_FEDERATION_CONTRIBUTIONS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/object_store.h"
#include "node/analyses/analyses.h"
#include "node/analyses/analysis_store.h"
#include "node/auth/principal.h"
#include "node/governance/governance_store.h"
#include "node/releases/release_store.h"
#include "node/releases/releases.h"
#include "trenode/v1/federation.pb.h"

namespace trenode::federation {

class Contributions {
 public:
  // Everything given must outlive this object.
  Contributions(std::string node_id, analyses::Analyses* analyses,
                analyses::AnalysisStore* analysis_store, releases::Releases* releases,
                releases::ReleaseStore* release_store, governance::GovernanceStore* projects,
                adapters::ObjectStore* objects)
      : node_id_(std::move(node_id)),
        analyses_(analyses),
        analysis_store_(analysis_store),
        releases_(releases),
        release_store_(release_store),
        projects_(projects),
        objects_(objects) {}

  // The person a partner's request is about: subject@partner, a researcher
  // acting via the partner. InvalidArgument for a subject that is not
  // 1-255 printable ASCII characters without spaces or "@".
  static absl::StatusOr<auth::Principal> PersonOf(const auth::Principal& partner,
                                                  const std::string& subject);

  // `person` is a researcher: of a partner (PersonOf), or of this node when
  // it is itself one of a federated analysis's nodes. Submits the query as
  // the person (or finds the earlier submission of the same request id) and
  // says where it stands. This node's refusals (no such project here, not a
  // member, not trained, dataset not approved) are returned as errors with
  // this node's reason.
  //
  // `part_of`: the home node's own part of its federated analysis
  // `part_of`, already approved here: the part, the same query by the same
  // person in the same project, is approved with it rather than again
  // ("policy:part-of-federated-analysis <id>").
  absl::StatusOr<trenode::v1::Contribution> Submit(
      const auth::Principal& person, const trenode::v1::SubmitContributionRequest& request,
      const trenode::v1::Analysis* part_of = nullptr);
  // Where the contribution stands, moving its release along: created once
  // the analysis succeeded, submitted once prepared. Released files are
  // read as the person's downloads (each counted and logged).
  absl::StatusOr<trenode::v1::Contribution> Get(const auth::Principal& person,
                                                const std::string& request_id);
  absl::StatusOr<trenode::v1::Contribution> Cancel(const auth::Principal& person,
                                                   const std::string& request_id);

 private:
  // The dataset the query runs against here: `named` if the project is
  // approved for it here, otherwise the project's one approved dataset.
  absl::StatusOr<std::string> DatasetFor(const std::string& project_id, const std::string& named);
  absl::StatusOr<trenode::v1::Analysis> Find(const auth::Principal& person,
                                             const std::string& request_id);
  // Where `analysis` stands, moving its release along; with the released
  // files if `with_files`.
  absl::StatusOr<trenode::v1::Contribution> Describe(const auth::Principal& person,
                                                     const trenode::v1::Analysis& analysis,
                                                     bool with_files = true);

  std::string node_id_;
  analyses::Analyses* analyses_;
  analyses::AnalysisStore* analysis_store_;
  releases::Releases* releases_;
  releases::ReleaseStore* release_store_;
  governance::GovernanceStore* projects_;
  adapters::ObjectStore* objects_;
};

// What a contribution is, given its analysis here and its latest release
// (if any), without files.
trenode::v1::Contribution ContributionOf(const trenode::v1::Analysis& analysis,
                                         const std::optional<trenode::v1::Release>& release);

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_CONTRIBUTIONS_H_
