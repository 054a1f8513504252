// ReleaseStore: durable release requests. Implementations are thread-safe.
#ifndef TRENODE_NODE_RELEASES_RELEASE_STORE_H_
#define TRENODE_NODE_RELEASES_RELEASE_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "node/storage/sqlite_pool.h"
#include "trenode/v1/releases.pb.h"

namespace trenode::releases {

class ReleaseStore {
 public:
  virtual ~ReleaseStore() = default;
  // AlreadyExists if the id is taken or the analysis has a release that is
  // not withdrawn.
  virtual absl::Status Create(const trenode::v1::Release& release) = 0;
  // NotFound.
  virtual absl::StatusOr<trenode::v1::Release> Get(const std::string& id) = 0;
  // Every release of the analysis, oldest first.
  virtual absl::StatusOr<std::vector<trenode::v1::Release>> ForAnalysis(
      const std::string& analysis_id) = 0;
  // The id and version of each release of the analysis, by id, without
  // reading them: every Update gives the release a greater version, so
  // (id, version) names one version of a release.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Versions(
      const std::string& analysis_id) = 0;
  // Versions of the releases of each of `analysis_ids`, all read at one
  // moment (one read transaction); an analysis with none is absent.
  using VersionsByAnalysis =
      std::map<std::string, std::vector<std::pair<std::string, int64_t>>, std::less<>>;
  virtual absl::StatusOr<VersionsByAnalysis> VersionsOf(
      const std::vector<std::string>& analysis_ids) = 0;
  // Replaces the release if its stored state is still `expected`; Aborted
  // otherwise.
  virtual absl::Status Update(const trenode::v1::Release& release,
                              trenode::v1::ReleaseState expected) = 0;
  // By id after `after_id`; with a requester or state, only those.
  virtual absl::StatusOr<std::vector<trenode::v1::Release>> List(const std::string& requester,
                                                                 trenode::v1::ReleaseState state,
                                                                 const std::string& after_id,
                                                                 int limit) = 0;
};

// The ReleaseStore in the node's SQLite database.
class SqliteReleaseStore : public ReleaseStore {
 public:
  explicit SqliteReleaseStore(storage::SqlitePool* pool) : pool_(pool) {}
  // The SELECT that List runs for these filters (ids after ?, then limit ?).
  static std::string ListSql(const std::string& requester, trenode::v1::ReleaseState state);
  absl::Status Create(const trenode::v1::Release& release) override;
  absl::StatusOr<trenode::v1::Release> Get(const std::string& id) override;
  absl::StatusOr<std::vector<trenode::v1::Release>> ForAnalysis(
      const std::string& analysis_id) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Versions(
      const std::string& analysis_id) override;
  absl::StatusOr<VersionsByAnalysis> VersionsOf(
      const std::vector<std::string>& analysis_ids) override;
  absl::Status Update(const trenode::v1::Release& release,
                      trenode::v1::ReleaseState expected) override;
  absl::StatusOr<std::vector<trenode::v1::Release>> List(const std::string& requester,
                                                         trenode::v1::ReleaseState state,
                                                         const std::string& after_id,
                                                         int limit) override;

 private:
  storage::SqlitePool* pool_;
};

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_RELEASE_STORE_H_
