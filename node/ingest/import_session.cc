#include "node/ingest/import_session.h"

#include <fstream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/catalogue/dataset_validation.h"
#include "node/common/status_macros.h"
#include "node/ingest/dataset_builder.h"
#include "node/query/row_estimate.h"

namespace trenode::ingest {
namespace fs = std::filesystem;
namespace {

std::string RandomHex(int bytes) {
  std::random_device device;
  std::string out;
  for (int i = 0; i < bytes; ++i)
    absl::StrAppend(&out, absl::Hex(device() & 0xff, absl::kZeroPad2));
  return out;
}

absl::Status CheckHeader(const auth::Principal& caller,
                         const trenode::v1::ImportDatasetHeader& header,
                         catalogue::Catalogue& catalogue) {
  trenode::v1::Dataset descriptive = header.dataset();
  descriptive.clear_tables();  // columns may leave their type to inference
  descriptive.clear_person_table();
  RETURN_IF_ERROR(catalogue::ValidateDescriptiveMetadata(descriptive));
  if (header.expected_version() < 0) {
    return absl::InvalidArgumentError("expected_version: must not be negative");
  }
  absl::StatusOr<trenode::v1::Dataset> existing = catalogue.Get(caller, header.dataset().id(), 0);
  if (existing.ok() && header.expected_version() == 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "dataset \"", header.dataset().id(), "\" already exists at version ", existing->version(),
        "; to import a new version set expected_version to ", existing->version()));
  }
  if (!existing.ok() && existing.status().code() != absl::StatusCode::kNotFound) {
    return existing.status();
  }
  if (!existing.ok() && header.expected_version() != 0) return existing.status();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ImportSession>> ImportSession::Start(
    const auth::Principal& caller, const trenode::v1::ImportDatasetHeader& header,
    catalogue::Catalogue* catalogue, adapters::ObjectStore* datasets, const fs::path& work_dir,
    ImportLimits limits) {
  RETURN_IF_ERROR(CheckHeader(caller, header, *catalogue));
  fs::path dir = work_dir / "imports" / absl::StrCat(header.dataset().id(), "-", RandomHex(8));
  ASSIGN_OR_RETURN(std::unique_ptr<adapters::PosixObjectStore> staging,
                   adapters::PosixObjectStore::Open(dir / "csv"));
  return std::unique_ptr<ImportSession>(new ImportSession(
      caller, header, catalogue, datasets, std::move(dir), std::move(staging), limits));
}

ImportSession::ImportSession(auth::Principal caller, trenode::v1::ImportDatasetHeader header,
                             catalogue::Catalogue* catalogue, adapters::ObjectStore* datasets,
                             fs::path dir, std::unique_ptr<adapters::PosixObjectStore> staging,
                             ImportLimits limits)
    : caller_(std::move(caller)),
      header_(std::move(header)),
      catalogue_(catalogue),
      datasets_(datasets),
      dir_(std::move(dir)),
      staging_(std::move(staging)),
      limits_(limits) {}

absl::StatusOr<int> ImportSession::RemoveLeftovers(const fs::path& work_dir) {
  const fs::path imports = work_dir / "imports";
  std::error_code ec;
  if (!fs::exists(imports, ec)) return 0;
  int removed = 0;
  for (const fs::directory_entry& leftover : fs::directory_iterator(imports, ec)) {
    std::error_code remove_error;
    fs::remove_all(leftover.path(), remove_error);
    if (remove_error) {
      return absl::UnavailableError(absl::StrCat("cannot remove the unfinished import ",
                                                 leftover.path().string(), ": ",
                                                 remove_error.message()));
    }
    ++removed;
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list ", imports.string(), ": ", ec.message()));
  }
  return removed;
}

ImportSession::~ImportSession() {
  current_writer_.reset();
  staging_.reset();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

absl::Status ImportSession::CloseCurrentFile() {
  if (!current_writer_) return absl::OkStatus();
  absl::Status status = current_writer_->Commit();
  current_writer_.reset();
  return status;
}

absl::Status ImportSession::AddChunk(const trenode::v1::ImportFileChunk& chunk) {
  if (finished_) return absl::FailedPreconditionError("the import has finished");
  const std::string& name = chunk.file_name();
  if (name != current_file_) {
    if (!absl::EndsWith(name, ".csv")) {
      return absl::InvalidArgumentError(
          absl::StrCat("file_name \"", name, "\": must be <table>.csv"));
    }
    RETURN_IF_ERROR(catalogue::ValidateSqlName(name.substr(0, name.size() - 4),
                                               absl::StrCat("file_name \"", name, "\"")));
    if (files_.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "file_name \"", name, "\": its chunks must be sent one after another, not in two runs"));
    }
    if (static_cast<int>(files_.size()) >= limits_.max_files) {
      return absl::InvalidArgumentError(
          absl::StrCat("an import may hold at most ", limits_.max_files, " files"));
    }
    RETURN_IF_ERROR(CloseCurrentFile());
    ASSIGN_OR_RETURN(current_writer_, staging_->OpenWrite(name));
    files_.insert(name);
    current_file_ = name;
  }
  total_bytes_ += static_cast<int64_t>(chunk.data().size());
  if (total_bytes_ > limits_.max_total_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the import is larger than this node's limit of ", limits_.max_total_bytes, " bytes"));
  }
  return current_writer_->Append(chunk.data());
}

absl::Status ImportSession::StoreDataFile(const std::string& local_path, const std::string& key,
                                          ImportProgressReporter& progress) {
  std::error_code size_error;
  const uintmax_t size = fs::file_size(local_path, size_error);
  trenode::v1::ImportProgress state;
  state.set_phase(trenode::v1::ImportProgress::PHASE_STORING);
  state.set_bytes_total(size_error ? 0 : static_cast<int64_t>(size));
  progress.Begin(state);
  ASSIGN_OR_RETURN(std::unique_ptr<adapters::ObjectWriter> writer, datasets_->OpenWrite(key));
  std::ifstream in(local_path, std::ios::binary);
  std::string buffer(1 << 20, '\0');
  int64_t stored = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) {
      RETURN_IF_ERROR(writer->Append(absl::string_view(buffer.data(), in.gcount())));
      stored += in.gcount();
      progress.AdvanceBytes(stored);
    }
  }
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read ", local_path));
  return writer->Commit();
}

absl::StatusOr<trenode::v1::Dataset> ImportSession::Finish(const ImportProgressSink& sink) {
  if (finished_) return absl::FailedPreconditionError("the import has finished");
  finished_ = true;
  RETURN_IF_ERROR(CloseCurrentFile());
  ImportProgressReporter progress(sink);
  std::string local_path = (dir_ / "data.sqlite").string();
  ASSIGN_OR_RETURN(trenode::v1::Dataset dataset,
                   BuildDatasetFile(*staging_, header_.dataset(), local_path, &progress));
  // The row counts ANALYZE recorded, read here from the local file so that
  // no estimate has to open the stored one.
  absl::StatusOr<catalogue::TableRows> rows = query::ReadTableRows(local_path);
  // A fresh key per import: concurrent imports of one id never share a file.
  std::string key = absl::StrCat("datasets/", dataset.id(), "/", RandomHex(12), ".sqlite");
  RETURN_IF_ERROR(StoreDataFile(local_path, key, progress));
  dataset.mutable_steward()->set_storage_location(key);
  trenode::v1::ImportProgress publishing;
  publishing.set_phase(trenode::v1::ImportProgress::PHASE_PUBLISHING);
  progress.Begin(publishing);
  absl::StatusOr<trenode::v1::Dataset> published =
      catalogue_->Publish(caller_, dataset, header_.expected_version());
  if (!published.ok()) {
    datasets_->Delete(key).IgnoreError();
    return published;
  }
  // Not kept (no statistics, a failed write): the first estimate of this
  // version reads them from the stored file and keeps them then.
  if (rows.ok()) {
    catalogue_->KeepTableRows(published->id(), published->version(), *rows).IgnoreError();
  }
  return published;
}

}  // namespace trenode::ingest
