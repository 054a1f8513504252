#include "node/storage/node_schema.h"

namespace trenode::storage {
namespace {

// Append only: never edit a migration that has shipped.
constexpr Migration kMigrations[] = {
    {1, "catalogue", R"sql(
-- A dataset's rowid is also its rowid in dataset_search.
CREATE TABLE datasets (
  id TEXT NOT NULL UNIQUE,
  latest_version INTEGER NOT NULL,
  state INTEGER NOT NULL,
  retirement_reason TEXT NOT NULL DEFAULT '',
  issued_micros INTEGER NOT NULL,
  state_changed_micros INTEGER NOT NULL
);

-- metadata: a serialized trenode.v1.Dataset as the steward registered it
-- (state, issued and modified are filled in from the columns on reading).
CREATE TABLE dataset_versions (
  dataset_id TEXT NOT NULL REFERENCES datasets(id),
  version INTEGER NOT NULL,
  metadata BLOB NOT NULL,
  created_micros INTEGER NOT NULL,
  PRIMARY KEY (dataset_id, version)
) WITHOUT ROWID;

-- The latest version of every dataset, for ranked free-text search. state
-- mirrors datasets.state so that filtering needs no join per match.
CREATE VIRTUAL TABLE dataset_search USING fts5(
  dataset_id UNINDEXED, state UNINDEXED, title, description, keywords, schema_text,
  tokenize = 'porter unicode61');
)sql"},
};

}  // namespace

std::span<const Migration> NodeSchemaMigrations() { return kMigrations; }

}  // namespace trenode::storage
