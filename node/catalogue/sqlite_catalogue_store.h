// The CatalogueStore kept in the node's SQLite database (schema in
// node/storage/node_schema.cc). Thread-safe: each call leases a connection.
// The store must be the database's only writer of the catalogue: it keeps
// recent searches' rankings (per searcher), cleared by its own changes.
#ifndef TRENODE_NODE_CATALOGUE_SQLITE_CATALOGUE_STORE_H_
#define TRENODE_NODE_CATALOGUE_SQLITE_CATALOGUE_STORE_H_

#include "node/catalogue/catalogue_store.h"
#include "node/catalogue/ranked_search_cache.h"
#include "node/storage/sqlite_pool.h"

namespace trenode::catalogue {

class SqliteCatalogueStore : public CatalogueStore {
 public:
  // `pool` must outlive the store and have the node schema applied.
  explicit SqliteCatalogueStore(storage::SqlitePool* pool) : pool_(pool) {}

  absl::Status Create(const trenode::v1::Dataset& first) override;
  absl::Status AddVersion(const trenode::v1::Dataset& next) override;
  absl::Status Retire(const std::string& id, const std::string& reason, absl::Time when) override;
  absl::StatusOr<trenode::v1::Dataset> Get(const std::string& id, int64_t version) override;
  absl::StatusOr<trenode::v1::DatasetState> StateOf(const std::string& id) override;
  absl::StatusOr<std::vector<trenode::v1::Dataset>> List(const std::string& after_id,
                                                         bool include_retired, int limit) override;
  absl::StatusOr<std::vector<ScoredDataset>> Search(const std::string& searcher,
                                                    const std::vector<SearchWord>& words,
                                                    bool include_retired,
                                                    const std::optional<SearchCursor>& after,
                                                    int limit) override;
  absl::Status PutTableRows(const std::string& id, int64_t version,
                            const TableRows& rows) override;
  absl::StatusOr<TableRows> GetTableRows(const std::string& id, int64_t version) override;

 private:
  // Every match of `expression`, ranked.
  absl::StatusOr<RankedHits> Rank(storage::SqliteDb& db, const std::string& expression);

  storage::SqlitePool* pool_;
  RankedSearchCache rankings_;
};

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_SQLITE_CATALOGUE_STORE_H_
