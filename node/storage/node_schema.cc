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
    {2, "governance", R"sql(
-- record: a serialized trenode.v1.Project; state and PI mirror it for queries.
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  state INTEGER NOT NULL,
  principal_investigator TEXT NOT NULL,
  record BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX projects_by_pi ON projects(principal_investigator);

-- record: a serialized trenode.v1.Membership.
CREATE TABLE memberships (
  project_id TEXT NOT NULL REFERENCES projects(id),
  person TEXT NOT NULL,
  state INTEGER NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY (project_id, person)
) WITHOUT ROWID;
CREATE INDEX memberships_by_person ON memberships(person);

-- record: a serialized trenode.v1.TrainingRecord; append only.
CREATE TABLE training_records (
  person TEXT NOT NULL,
  record BLOB NOT NULL
);
CREATE INDEX training_by_person ON training_records(person);
)sql"},
    {3, "activity_log", R"sql(
-- leaf: the canonical event bytes (spec/activity-log.md), hashed as RFC 9162 leaves.
-- leaf_hash: SHA-256(0x00 || leaf) as computed when the entry was appended.
CREATE TABLE log_entries (
  idx INTEGER PRIMARY KEY,
  leaf BLOB NOT NULL,
  leaf_hash BLOB NOT NULL
);
-- Every perfect subtree of two or more leaves: (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level). Leaf hashes (level 0) are
-- log_entries.leaf_hash.
CREATE TABLE log_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
-- Signed checkpoints (C2SP signed notes), one per size signed.
CREATE TABLE log_checkpoints (
  size INTEGER PRIMARY KEY,
  note TEXT NOT NULL
);
)sql"},
    {4, "analyses", R"sql(
-- analysis: a serialized trenode.v1.Analysis (with its result, if any);
-- state and sequence mirror it for queries and compare-and-set updates.
CREATE TABLE analyses (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  submitter TEXT NOT NULL,
  request_id TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  state INTEGER NOT NULL,
  sequence INTEGER NOT NULL,
  analysis BLOB NOT NULL,
  UNIQUE (submitter, request_id)
) WITHOUT ROWID;
CREATE INDEX analyses_by_state ON analyses(state);
CREATE INDEX analyses_by_project ON analyses(project_id, id);
-- Every state change (a serialized trenode.v1.AnalysisEvent), for watchers.
CREATE TABLE analysis_events (
  analysis_id TEXT NOT NULL REFERENCES analyses(id),
  sequence INTEGER NOT NULL,
  event BLOB NOT NULL,
  PRIMARY KEY (analysis_id, sequence)
) WITHOUT ROWID;
)sql"},
    {5, "bundles", R"sql(
-- bundle: a serialized trenode.v1.Bundle (without approvals); its bytes are
-- the object bundles/<sha256>.tar.gz.
CREATE TABLE bundles (
  sha256 TEXT PRIMARY KEY,
  bundle BLOB NOT NULL
) WITHOUT ROWID;
-- approval: a serialized trenode.v1.BundleApproval.
CREATE TABLE bundle_approvals (
  project_id TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES bundles(sha256),
  approval BLOB NOT NULL,
  PRIMARY KEY (project_id, sha256)
) WITHOUT ROWID;
)sql"},
    {6, "releases", R"sql(
-- release: a serialized trenode.v1.Release; state mirrors it for queries and
-- compare-and-set updates. One release per analysis.
CREATE TABLE releases (
  id TEXT PRIMARY KEY,
  analysis_id TEXT NOT NULL UNIQUE,
  requester TEXT NOT NULL,
  state INTEGER NOT NULL,
  release BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX releases_by_requester ON releases(requester, id);
)sql"},
    {7, "activity_log_inline_subtrees", R"sql(
-- subtrees: the hashes of the perfect subtrees of two or more leaves that
-- this leaf completes, level 1 upward, 32 bytes each (leaf i completes
-- levels 1 .. ctz(i + 1)); NULL when it completes none. Kept in the leaf's
-- row so that an append writes one B-tree, not one per level.
ALTER TABLE log_entries ADD COLUMN subtrees BLOB;
CREATE TEMP TABLE log_subtree_chains AS
WITH RECURSIVE chain(entry, level, bytes) AS (
  SELECT idx, 0, x'' FROM log_entries WHERE idx % 2 = 1
  UNION ALL
  SELECT chain.entry, chain.level + 1, CAST(chain.bytes || log_nodes.hash AS BLOB)
  FROM chain JOIN log_nodes
    ON log_nodes.level = chain.level + 1
   AND (chain.entry + 1) % (1 << (chain.level + 1)) = 0
   AND log_nodes.idx = (chain.entry + 1) / (1 << (chain.level + 1)) - 1
)
-- With MAX, SQLite takes the bare column from the row with the highest level.
SELECT entry, bytes, MAX(level) AS top FROM chain GROUP BY entry;
UPDATE log_entries SET subtrees = log_subtree_chains.bytes
FROM log_subtree_chains WHERE log_subtree_chains.entry = log_entries.idx;
DROP TABLE log_subtree_chains;
DROP TABLE log_nodes;
)sql"},
    {8, "releases_reopen_after_withdrawal", R"sql(
-- One release per analysis that is not withdrawn (state 6,
-- RELEASE_STATE_WITHDRAWN): withdrawing frees the analysis for a new one.
CREATE TABLE releases_v8 (
  id TEXT PRIMARY KEY,
  analysis_id TEXT NOT NULL,
  requester TEXT NOT NULL,
  state INTEGER NOT NULL,
  release BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO releases_v8(id, analysis_id, requester, state, release)
  SELECT id, analysis_id, requester, state, release FROM releases;
DROP TABLE releases;
ALTER TABLE releases_v8 RENAME TO releases;
CREATE INDEX releases_by_requester ON releases(requester, id);
CREATE INDEX releases_by_analysis ON releases(analysis_id, id);
CREATE UNIQUE INDEX releases_one_open_per_analysis ON releases(analysis_id) WHERE state != 6;
)sql"},
    {9, "disclosure_ledger", R"sql(
-- Every person of every dataset: an ordinal that stays the same across the
-- dataset's versions, and a secret random record key for cell-key
-- perturbation. Never in the dataset file, which script jobs read.
CREATE TABLE person_registry (
  dataset_id TEXT NOT NULL,
  person_key TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  record_key INTEGER NOT NULL,
  PRIMARY KEY (dataset_id, person_key)
) WITHOUT ROWID;

-- internals: a serialized trenode.internal.QueryInternals (the persons
-- behind each cell of an aggregate query's result, and its joint table).
CREATE TABLE analysis_internals (
  analysis_id TEXT PRIMARY KEY,
  internals BLOB NOT NULL
) WITHOUT ROWID;

-- The overlap ledger: the persons behind every aggregate cell a release
-- would publish, per dataset (node/query/person_sets.h encoding), recorded
-- when the release is created. status: 0 drafted, 1 released, 2 submitted
-- (waiting for review), 3 closed (withdrawn or rejected). size is the
-- persons' number and sketch their bucket counts, for finding close cells
-- without reading every set; perturbed: published with cell-key noise.
CREATE TABLE release_ledger (
  id INTEGER PRIMARY KEY,
  project_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  release_id TEXT NOT NULL,
  file TEXT NOT NULL,
  cell TEXT NOT NULL,
  kind INTEGER NOT NULL,
  size INTEGER NOT NULL,
  perturbed INTEGER NOT NULL,
  status INTEGER NOT NULL DEFAULT 0,
  sketch BLOB NOT NULL,
  persons BLOB NOT NULL
);
CREATE INDEX release_ledger_by_dataset ON release_ledger(dataset_id, status, size);
CREATE INDEX release_ledger_by_release ON release_ledger(release_id, file);
)sql"},
    {10, "log_outbox", R"sql(
-- Activity-log records of changes, written in the change's own transaction
-- (node/storage/outbox.h) and deleted in the transaction that appends them
-- to the log; rows left by a crash are appended when the log next opens.
-- record: a canonical leaf whose time is set when it is appended.
CREATE TABLE log_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  record BLOB NOT NULL
);
)sql"},
    {11, "list_indexes", R"sql(
-- Pages of a researcher's own analyses and of the review queue by state, in id
-- order, without walking every row (the primary key is the rest of each key).
CREATE INDEX analyses_by_submitter ON analyses(submitter, id);
CREATE INDEX releases_by_state ON releases(state, id);
)sql"},
    {12, "witnessing", R"sql(
-- As a witness: each partner's log as last verified consistent (a
-- trenode.v1.WitnessedLog) with the signed checkpoint it was verified from,
-- and the alarms raised (trenode.v1.WitnessAlarm, with their evidence).
CREATE TABLE witnessed_logs (
  node_id TEXT PRIMARY KEY,
  record BLOB NOT NULL,
  checkpoint TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE witness_alarms (
  id INTEGER PRIMARY KEY,
  node_id TEXT NOT NULL,
  alarm BLOB NOT NULL
);
-- As a log: the latest cosignature from each witness (a
-- trenode.v1.CosignedCheckpoint; its witness key is the one pinned).
CREATE TABLE cosignatures (
  witness TEXT PRIMARY KEY,
  cosigned BLOB NOT NULL
) WITHOUT ROWID;
)sql"},
    {13, "budgets", R"sql(
-- Charging (spec/charging.md): each project's monthly budget and quotas, a
-- trenode.v1.Budget as the last steward set it.
CREATE TABLE budgets (
  project_id TEXT PRIMARY KEY,
  record BLOB NOT NULL
) WITHOUT ROWID;
)sql"},
    {14, "bundle_proposals", R"sql(
-- Who uploaded which bundle for which project (a bundle's bytes are stored
-- once; each person's upload of it for a project is a proposal a steward
-- reviews), in upload order. proposal: a serialized trenode.v1.BundleProposal
-- without its bundle. Bundles uploaded before this table existed have none.
CREATE TABLE bundle_proposals (
  id INTEGER PRIMARY KEY,
  project_id TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES bundles(sha256),
  proposed_by TEXT NOT NULL,
  proposal BLOB NOT NULL,
  UNIQUE (project_id, sha256, proposed_by)
);
CREATE INDEX bundle_proposals_by_proposer ON bundle_proposals(proposed_by, id);
)sql"},
    {15, "dataset_table_rows", R"sql(
-- Charging (spec/charging.md, "Estimates"): each dataset version's table row
-- counts, as ANALYZE recorded them in the data file's sqlite_stat1 at import
-- (or, for a version that has none, when it was first estimated). Exact:
-- never part of a catalogue entry, an RPC answer or a log event.
CREATE TABLE dataset_table_rows (
  dataset_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  table_name TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  PRIMARY KEY (dataset_id, version, table_name),
  FOREIGN KEY (dataset_id, version) REFERENCES dataset_versions(dataset_id, version)
) WITHOUT ROWID;
)sql"},
    {16, "metering_pending_index", R"sql(
-- Charging (spec/charging.md, "Cancelled while running"): whether an
-- analysis was cancelled while it ran and what it used is not yet kept
-- (its trenode.v1.Analysis.metering_pending), so that a starting node finds
-- those few from a partial index instead of reading every cancelled
-- analysis. Rows written before this column marked every cancelled analysis
-- (9 = ANALYSIS_STATE_CANCELLED): a superset the store narrows, clearing the
-- mark of each that its record says is not pending, the first time it is read.
ALTER TABLE analyses ADD COLUMN metering_pending INTEGER NOT NULL DEFAULT 0;
UPDATE analyses SET metering_pending = 1 WHERE state = 9;
CREATE INDEX analyses_metering_pending ON analyses(id) WHERE metering_pending = 1;
)sql"},
    {17, "storage_ledger", R"sql(
-- Charging (spec/charging.md, "Storage and egress"): each object a project
-- keeps at this node (kind 1 output, 2 review copy, 3 released copy) with
-- its bytes from when the node wrote it until it deleted it (to_micros NULL:
-- still stored), at most one open interval per object; and each download of
-- a released file with the bytes actually sent. Times in Unix micro-seconds.
CREATE TABLE storage_intervals (
  id INTEGER PRIMARY KEY,
  project_id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  object TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  from_micros INTEGER NOT NULL,
  to_micros INTEGER
);
CREATE INDEX storage_intervals_by_project ON storage_intervals(project_id, from_micros);
CREATE UNIQUE INDEX storage_intervals_open ON storage_intervals(object) WHERE to_micros IS NULL;
CREATE TABLE egress (
  id INTEGER PRIMARY KEY,
  project_id TEXT NOT NULL,
  release_id TEXT NOT NULL,
  file TEXT NOT NULL,
  downloader TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  at_micros INTEGER NOT NULL
);
CREATE INDEX egress_by_project ON egress(project_id, at_micros);
)sql"},
    {18, "witness_unproven_checks", R"sql(
-- As a witness (spec/federation.md, "Witnessing"): how many checks in which
-- the partner showed a larger signed checkpoint and gave no consistency
-- proof, since a larger one was last proven; kept so that a restart of this
-- node does not let the partner off.
ALTER TABLE witnessed_logs ADD COLUMN unproven_checks INTEGER NOT NULL DEFAULT 0;
)sql"},
    {19, "witness_alarm_runs", R"sql(
-- As a witness: the kind of the last alarm raised about a partner, while no
-- consistent check has followed it, so that an alarm is kept and logged
-- once per kind in a row across restarts of this node too.
CREATE TABLE witness_alarm_runs (
  node_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL
);
)sql"},
    {20, "ledger_digests", R"sql(
-- digest: SHA-256 of the cell's encoded persons, so that the overlap audit
-- reads each distinct set once and skips the same set without reading it
-- (NULL for cells recorded before: compared as before).
ALTER TABLE release_ledger ADD COLUMN digest BLOB;
CREATE INDEX release_ledger_by_digest ON release_ledger(dataset_id, status, digest, release_id);
)sql"},
    {21, "release_versions", R"sql(
-- version: raised by every change of the release, so that a reader that
-- keeps what it derived from a release knows when to read it again.
ALTER TABLE releases ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
-- Covers ReleaseStore::Versions as well as the old index served ForAnalysis.
CREATE INDEX releases_versions_by_analysis ON releases(analysis_id, id, version);
DROP INDEX releases_by_analysis;
)sql"},
    {22, "analysis_versions", R"sql(
-- Cover AnalysisStore::Versions, which the differencing guard reads on every
-- release: a project's or a submitter's (id, sequence) from the index alone,
-- not from each analysis's row, which holds the serialized analysis. They
-- serve List's filters as the indexes they replace did.
CREATE INDEX analyses_by_project_versions ON analyses(project_id, id, sequence);
CREATE INDEX analyses_by_submitter_versions ON analyses(submitter, id, sequence);
DROP INDEX analyses_by_project;
DROP INDEX analyses_by_submitter;
)sql"},
    {23, "ledger_persons_apart", R"sql(
-- The persons behind each ledger cell in a table of their own (id is the
-- cell's release_ledger id), so that marking a cell submitted, released or
-- closed rewrites a small row and not its set of persons (hundreds of
-- kilobytes for a cell of 100,000 persons, rewritten twice per release).
CREATE TABLE release_ledger_persons (
  id INTEGER PRIMARY KEY,
  persons BLOB NOT NULL
);
INSERT INTO release_ledger_persons(id, persons) SELECT id, persons FROM release_ledger;
ALTER TABLE release_ledger DROP COLUMN persons;
)sql"},
    {24, "ledger_standing_by_digest_then_id", R"sql(
-- LedgerStore::Standing skips from one distinct digest to the next and
-- takes each one's first cell in id order, rather than grouping every cell
-- (a question released a thousand times is a thousand cells of one set).
CREATE INDEX release_ledger_standing ON release_ledger(dataset_id, status, digest, id);
DROP INDEX release_ledger_by_digest;
)sql"},
    {25, "log_outbox_without_autoincrement", R"sql(
-- An outbox row's id is the largest id left plus one: ids stay in the order
-- the changes were committed among the rows left (a row stays until its
-- record is appended), and the change's transaction no longer writes the
-- sqlite_sequence page too (AUTOINCREMENT's only use is never reusing an
-- id, which nothing here needs).
CREATE TABLE log_outbox_rowid (
  id INTEGER PRIMARY KEY,
  record BLOB NOT NULL
);
INSERT INTO log_outbox_rowid(id, record) SELECT id, record FROM log_outbox;
DROP TABLE log_outbox;
ALTER TABLE log_outbox_rowid RENAME TO log_outbox;
DELETE FROM sqlite_sequence WHERE name = 'log_outbox';
)sql"},
};

}  // namespace

std::span<const Migration> NodeSchemaMigrations() { return kMigrations; }

}  // namespace trenode::storage
