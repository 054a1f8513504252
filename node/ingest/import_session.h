// One ImportDataset call: receives the header and the CSV chunks, stages them
// on local disk, then builds the dataset file, stores it in the node's object
// store and publishes the catalogue entry. All or nothing: on any failure the
// catalogue is unchanged and no data object remains; the staging area is
// removed when the session is destroyed.
//
// Not thread-safe: one session per call, used by one thread.
#ifndef TRENODE_NODE_INGEST_IMPORT_SESSION_H_
#define TRENODE_NODE_INGEST_IMPORT_SESSION_H_

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/object_store.h"
#include "adapters/onprem/posix_object_store.h"
#include "node/auth/principal.h"
#include "node/catalogue/catalogue.h"
#include "node/ingest/import_progress.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::ingest {

struct ImportLimits {
  int64_t max_total_bytes = int64_t{4} << 30;
  int max_files = 200;
};

class ImportSession {
 public:
  // Checks the header (id, title, and that the id is free for a first import
  // or at `expected_version` for a new version) before any data is sent.
  // `catalogue` and `datasets` must outlive the session.
  static absl::StatusOr<std::unique_ptr<ImportSession>> Start(
      const auth::Principal& caller, const trenode::v1::ImportDatasetHeader& header,
      catalogue::Catalogue* catalogue, adapters::ObjectStore* datasets,
      const std::filesystem::path& work_dir, ImportLimits limits);
  ~ImportSession();

  // Removes what imports of an earlier run of the node left in
  // `work_dir`/imports: the staging folders (CSV files and a half-built
  // dataset file) of imports stopped by a crash or a kill, which no session
  // will ever finish. Such a folder is never a dataset: an import is
  // published only after its file is stored (fsynced and renamed into place)
  // and the catalogue entry committed. Call once at start-up, before any
  // session starts. Returns how many folders were removed; Unavailable if
  // one could not be.
  static absl::StatusOr<int> RemoveLeftovers(const std::filesystem::path& work_dir);

  // InvalidArgument for a bad file name, a file split into two runs, or too
  // many files; ResourceExhausted past the size limit.
  absl::Status AddChunk(const trenode::v1::ImportFileChunk& chunk);

  // Builds, stores and publishes. Returns the catalogue entry as the caller
  // sees it. `progress` (may be null) hears what it is doing: the phases of
  // BuildDatasetFile, then PHASE_STORING (bytes) and PHASE_PUBLISHING. It is
  // called on this thread; a slow sink slows the import.
  absl::StatusOr<trenode::v1::Dataset> Finish(const ImportProgressSink& progress = nullptr);

 private:
  ImportSession(auth::Principal caller, trenode::v1::ImportDatasetHeader header,
                catalogue::Catalogue* catalogue, adapters::ObjectStore* datasets,
                std::filesystem::path dir, std::unique_ptr<adapters::PosixObjectStore> staging,
                ImportLimits limits);
  absl::Status CloseCurrentFile();
  absl::Status StoreDataFile(const std::string& local_path, const std::string& key,
                             ImportProgressReporter& progress);

  auth::Principal caller_;
  trenode::v1::ImportDatasetHeader header_;
  catalogue::Catalogue* catalogue_;
  adapters::ObjectStore* datasets_;
  std::filesystem::path dir_;
  std::unique_ptr<adapters::PosixObjectStore> staging_;
  ImportLimits limits_;
  int64_t total_bytes_ = 0;
  std::set<std::string> files_;
  std::string current_file_;
  std::unique_ptr<adapters::ObjectWriter> current_writer_;
  bool finished_ = false;
};

}  // namespace trenode::ingest

#endif  // TRENODE_NODE_INGEST_IMPORT_SESSION_H_
