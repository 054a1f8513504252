// Turns a set of CSV tables into a dataset's own SQLite file, checking every
// cell on the way. The file is the caller's to publish only if the build
// succeeds: on failure it is removed.
#ifndef TRENODE_NODE_INGEST_DATASET_BUILDER_H_
#define TRENODE_NODE_INGEST_DATASET_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "adapters/object_store.h"
#include "node/ingest/import_progress.h"
#include "node/ingest/person_key_map.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::ingest {

// Reads every object "<table>.csv" in `source` (the first line of each is its
// header) and writes the tables to a new SQLite file at `output_path` (which
// must not exist). `declared` may describe some or all of the tables and
// columns: declared types are enforced, undeclared columns are inferred
// (INTEGER, REAL, DATE or TEXT). The person key of a table is its declared
// is_person_key column, else a column named "person_id"; the person table
// (declared.person_table, default "person") must have one, with unique
// non-empty values, and every other table's person keys must occur in it.
// Each other (event) table gets a column catalogue::kPersonRowidColumn: each
// row's person's rowid in the person table. The person table's keys are
// kept in memory for those lookups in at most `person_key_slots` slots
// (PersonKeyMap); past them they are looked up in the person key's index.
//
// Returns `declared` completed with every table's full schema and the exact
// person count in steward.exact_person_count. InvalidArgument naming the file,
// line and field for malformed input; then no file is left at `output_path`.
//
// Each table is read once if every column's type is declared (checked as
// it is loaded), twice otherwise (checked and inferred, then loaded); memory
// stays bounded whatever the size of the files.
//
// `progress` (may be null) hears each phase as it begins and its rows and
// bytes as they advance: PHASE_CHECKING (only the tables with a column left
// to inference; PHASE_LOADING's rows_total is 0, unknown, unless every table
// was checked), PHASE_LOADING (with the person
// table's key index, PHASE_INDEXING step 1, built between the person table
// and the others), PHASE_INDEXING, PHASE_ANALYZING, PHASE_DESCRIBING, in
// that order.
absl::StatusOr<trenode::v1::Dataset> BuildDatasetFile(
    adapters::ObjectStore& source, const trenode::v1::Dataset& declared,
    const std::string& output_path, ImportProgressReporter* progress = nullptr,
    int64_t person_key_slots = PersonKeyMap::kMaxSlots);

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_DATASET_BUILDER_H_
