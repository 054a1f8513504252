// CatalogueStore: durable storage of dataset versions and their search index.
// The domain (Catalogue) decides what is valid and who sees what; the store
// only keeps versions consistent. Implementations are thread-safe.
#ifndef TRENODE_NODE_CATALOGUE_CATALOGUE_STORE_H_
#define TRENODE_NODE_CATALOGUE_CATALOGUE_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::catalogue {

// One word of a free-text search; all words of a query must match.
struct SearchWord {
  std::string text;  // lower case letters and digits only
  bool prefix = false;
};

// Where the previous page of a search ended.
struct SearchCursor {
  double score;
  std::string dataset_id;
};

struct ScoredDataset {
  trenode::v1::Dataset dataset;
  double score;  // higher is better
};

// A dataset version's row count of each table of its data file (exact; never
// shown to anyone: spec/charging.md, "Estimates").
using TableRows = std::map<std::string, int64_t>;

class CatalogueStore {
 public:
  virtual ~CatalogueStore() = default;

  // Stores `first` as version 1 of a new dataset, ACTIVE, issued at `first.issued`.
  // AlreadyExists if the id is taken.
  virtual absl::Status Create(const trenode::v1::Dataset& first) = 0;

  // Stores `next` as the dataset's next version. Aborted if the latest stored
  // version is not next.version() - 1; NotFound for an unknown id;
  // FailedPrecondition if the dataset is retired.
  virtual absl::Status AddVersion(const trenode::v1::Dataset& next) = 0;

  // Marks the dataset retired. NotFound; FailedPrecondition if already retired.
  virtual absl::Status Retire(const std::string& id, const std::string& reason,
                              absl::Time when) = 0;

  // The dataset at `version`, or the latest for 0, with state, issued and
  // modified filled in. NotFound names what is missing.
  virtual absl::StatusOr<trenode::v1::Dataset> Get(const std::string& id, int64_t version) = 0;

  // The dataset's state alone, without reading any version's metadata (the
  // checks made on every analysis and release need no more). NotFound as Get.
  virtual absl::StatusOr<trenode::v1::DatasetState> StateOf(const std::string& id) = 0;

  // Latest versions ordered by id, starting after `after_id`, at most `limit`.
  virtual absl::StatusOr<std::vector<trenode::v1::Dataset>> List(const std::string& after_id,
                                                                 bool include_retired,
                                                                 int limit) = 0;

  // Latest versions matching every word, best first (ties by id), starting
  // after `after`, at most `limit`. `searcher` names who searches: whatever
  // a store keeps between searches to answer faster serves only the same
  // searcher, so that how long a search takes tells no one what others
  // searched for.
  virtual absl::StatusOr<std::vector<ScoredDataset>> Search(
      const std::string& searcher, const std::vector<SearchWord>& words, bool include_retired,
      const std::optional<SearchCursor>& after, int limit) = 0;

  // Keeps `rows` as the row counts of the dataset's `version`, replacing any
  // kept before. NotFound if there is no such version.
  virtual absl::Status PutTableRows(const std::string& id, int64_t version,
                                    const TableRows& rows) = 0;

  // The row counts kept for the dataset's `version` (not 0). NotFound if none
  // were kept (a version imported before they were, or registered from a
  // file the node did not build); its message carries no count.
  virtual absl::StatusOr<TableRows> GetTableRows(const std::string& id, int64_t version) = 0;
};

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_CATALOGUE_STORE_H_
