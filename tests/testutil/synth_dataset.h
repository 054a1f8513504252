// A synthetic site's dataset file built without a node, for the query tests:
// trenode-synth's CSVs generated under `dir`/site and imported as the node
// imports them, into `dir`/site.sqlite.
#ifndef TRENODE_TESTS_TESTUTIL_SYNTH_DATASET_H_
#define TRENODE_TESTS_TESTUTIL_SYNTH_DATASET_H_

#include <filesystem>

#include "absl/status/statusor.h"
#include "adapters/onprem/posix_object_store.h"
#include "node/ingest/dataset_builder.h"
#include "node/synth/generator.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::testing {

// The dataset's catalogue entry, its file at dir.File("site.sqlite").
inline absl::StatusOr<trenode::v1::Dataset> BuildSynthDataset(const TempDir& dir,
                                                             const synth::SynthOptions& options) {
  if (absl::Status generated = synth::GenerateSite(options, dir.File("site")); !generated.ok()) {
    return generated;
  }
  std::filesystem::remove(dir.path() / "site" / "dataset.textproto");
  absl::StatusOr<std::unique_ptr<adapters::PosixObjectStore>> source =
      adapters::PosixObjectStore::Open(dir.path() / "site");
  if (!source.ok()) return source.status();
  return ingest::BuildDatasetFile(**source, synth::SiteMetadata(options), dir.File("site.sqlite"));
}

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_SYNTH_DATASET_H_
