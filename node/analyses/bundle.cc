#include "node/analyses/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "node/catalogue/dataset_validation.h"
#include "node/common/status_macros.h"
#include "node/log/merkle.h"

namespace trenode::analyses {
namespace {
namespace fs = std::filesystem;

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("bundle: ", message));
}

// The entry's path without a leading "./" and with directories' trailing
// '/'; InvalidArgument if it could leave the bundle or is not a plain name.
absl::StatusOr<std::string> CleanPath(const char* raw) {
  if (raw == nullptr || *raw == '\0') return Invalid("an entry has no name");
  std::string path(raw);
  if (path[0] == '/') {
    return Invalid(absl::StrCat("entry \"", path, "\" is an absolute path"));
  }
  while (absl::StartsWith(path, "./")) path = path.substr(2);
  while (absl::EndsWith(path, "/")) path.pop_back();
  if (path.empty() || path == ".") return std::string();
  if (path.size() > 1024) return Invalid(absl::StrCat("entry \"", path, "\" has a path too long"));
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment == "..") {
      return Invalid(absl::StrCat("entry \"", path, "\" leaves the bundle (\"..\")"));
    }
    if (segment.empty() || segment == "." || segment.size() > 255) {
      return Invalid(absl::StrCat("entry \"", path, "\" is not a plain relative path"));
    }
    for (char c : segment) {
      if (!absl::ascii_isprint(static_cast<unsigned char>(c))) {
        return Invalid(absl::StrCat("entry \"", absl::CHexEscape(path),
                                    "\" has a control character in its name"));
      }
    }
  }
  return path;
}

// Calls `file(path, contents)` for every regular file and `directory(path)`
// for every directory, after checking every entry against `limits`.
absl::Status ReadEntries(
    absl::string_view bytes, const BundleLimits& limits,
    const std::function<absl::Status(const std::string&, const std::string&)>& file,
    const std::function<absl::Status(const std::string&)>& directory) {
  if (static_cast<int64_t>(bytes.size()) > limits.max_archive_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "bundle: ", bytes.size(), " bytes, more than the limit of ", limits.max_archive_bytes));
  }
  ArchivePtr reader(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());
  if (archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return Invalid(absl::StrCat("not a tar.gz archive: ", archive_error_string(reader.get())));
  }
  int64_t content = 0;
  int entries = 0;
  std::set<std::string> seen;
  archive_entry* entry;
  while (true) {
    int r = archive_read_next_header(reader.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      return Invalid(absl::StrCat("not a tar.gz archive: ", archive_error_string(reader.get())));
    }
    if (++entries > limits.max_entries) {
      return absl::ResourceExhaustedError(
          absl::StrCat("bundle: more than ", limits.max_entries, " entries"));
    }
    ASSIGN_OR_RETURN(std::string path, CleanPath(archive_entry_pathname(entry)));
    if (archive_entry_hardlink(entry) != nullptr) {
      return Invalid(absl::StrCat("entry \"", path, "\" is a hard link; only files are allowed"));
    }
    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      return Invalid(absl::StrCat("entry \"", path, "\" is a symbolic link (to \"",
                                  archive_entry_symlink(entry), "\"); only files are allowed"));
    }
    if (type == AE_IFDIR) {
      if (!path.empty()) RETURN_IF_ERROR(directory(path));
      continue;
    }
    if (type != AE_IFREG) {
      return Invalid(absl::StrCat("entry \"", path, "\" is not a regular file"));
    }
    if (path.empty() || !seen.insert(path).second) {
      return Invalid(absl::StrCat("entry \"", path, "\" appears twice"));
    }
    int64_t size = archive_entry_size(entry);
    if (size < 0 || content + size > limits.max_content_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "bundle: its files hold more than ", limits.max_content_bytes, " bytes uncompressed"));
    }
    std::string contents(static_cast<size_t>(size), '\0');
    la_ssize_t read = archive_read_data(reader.get(), contents.data(), contents.size());
    if (read != size) {
      return Invalid(absl::StrCat("entry \"", path, "\" is truncated or corrupt"));
    }
    content += size;
    RETURN_IF_ERROR(file(path, contents));
  }
  return absl::OkStatus();
}

// Keeps the parser's first complaint instead of logging it.
struct FirstError : google::protobuf::io::ErrorCollector {
  void AddError(int line, int column, const std::string& text) override {
    if (message.empty()) message = absl::StrCat("line ", line + 1, ":", column + 1, ": ", text);
  }
  std::string message;
};

bool IsOutputName(absl::string_view name) {
  if (name.empty() || name.size() > 255 || name[0] == '.') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status CheckManifest(const trenode::v1::BundleManifest& manifest,
                           const std::map<std::string, int64_t>& files) {
  const std::string& entry = manifest.entry_point();
  if (entry.empty()) return Invalid("manifest: entry_point is required");
  if (!files.contains(entry)) {
    return Invalid(
        absl::StrCat("manifest: entry_point \"", entry, "\" is not a file in the bundle"));
  }
  if (!absl::EndsWith(entry, ".py") && !absl::EndsWith(entry, ".sh")) {
    return Invalid(absl::StrCat("manifest: entry_point \"", entry,
                                "\" must be a .py (python3) or .sh (sh) program"));
  }
  if (manifest.datasets().empty()) return Invalid("manifest: name the datasets the job reads");
  std::set<std::string> unique;
  for (const std::string& id : manifest.datasets()) {
    if (!catalogue::ValidateDatasetId(id).ok() || !unique.insert(id).second) {
      return Invalid(absl::StrCat("manifest: dataset \"", id, "\" is not a dataset id, or twice"));
    }
  }
  if (manifest.outputs().empty()) return Invalid("manifest: name the outputs the job writes");
  unique.clear();
  for (const std::string& name : manifest.outputs()) {
    if (!IsOutputName(name) || !unique.insert(name).second) {
      return Invalid(absl::StrCat("manifest: output \"", name,
                                  "\" is not a file name [A-Za-z0-9._-] (not starting with '.'), "
                                  "or twice"));
    }
  }
  for (const auto& [name, statistic] : manifest.magnitude_statistics()) {
    if (!unique.contains(name) || !absl::EndsWith(name, ".magnitude.csv")) {
      return Invalid(absl::StrCat("manifest: magnitude_statistics names \"", name,
                                  "\", which is not an output named *.magnitude.csv"));
    }
    if (!trenode::v1::MagnitudeStatistic_IsValid(statistic)) {
      return Invalid(absl::StrCat("manifest: magnitude_statistics of \"", name,
                                  "\" is not SUM or MEAN"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<trenode::v1::Bundle> InspectBundle(absl::string_view archive,
                                                  const BundleLimits& limits) {
  std::map<std::string, int64_t> files;
  std::optional<std::string> manifest_text;
  RETURN_IF_ERROR(ReadEntries(
      archive, limits,
      [&](const std::string& path, const std::string& contents) {
        files[path] = static_cast<int64_t>(contents.size());
        if (path == kManifestName) manifest_text = contents;
        return absl::OkStatus();
      },
      [](const std::string&) { return absl::OkStatus(); }));
  if (!manifest_text) return Invalid(absl::StrCat("no ", kManifestName, " at its root"));
  trenode::v1::Bundle bundle;
  FirstError error;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&error);
  if (!parser.ParseFromString(*manifest_text, bundle.mutable_manifest())) {
    return Invalid(absl::StrCat(kManifestName,
                                " is not a trenode.v1.BundleManifest in protobuf text format (",
                                error.message, ")"));
  }
  RETURN_IF_ERROR(CheckManifest(bundle.manifest(), files));
  bundle.set_sha256(absl::BytesToHexString(log::HashBytes(log::Sha256(archive))));
  bundle.set_size(static_cast<int64_t>(archive.size()));
  for (const auto& [path, size] : files) {
    auto* file = bundle.add_files();
    file->set_path(path);
    file->set_size(size);
  }
  return bundle;
}

absl::Status ExtractBundle(absl::string_view archive, const std::string& dir,
                           const BundleLimits& limits) {
  // Everything is checked before anything is written.
  RETURN_IF_ERROR(InspectBundle(archive, limits).status());
  fs::path root(dir);
  auto make_directory = [&](const std::string& path) -> absl::Status {
    std::error_code ec;
    fs::create_directories(root / path, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", (root / path).string()));
    return absl::OkStatus();
  };
  return ReadEntries(
      archive, limits,
      [&](const std::string& path, const std::string& contents) -> absl::Status {
        fs::path target = root / path;
        RETURN_IF_ERROR(make_directory(fs::path(path).parent_path().string()));
        int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot write ", target.string()));
        bool written =
            ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size());
        ::close(fd);
        if (!written) return absl::UnavailableError(absl::StrCat("cannot write ", target.string()));
        return absl::OkStatus();
      },
      make_directory);
}

std::vector<std::string> BundleCommand(const trenode::v1::BundleManifest& manifest) {
  if (absl::EndsWith(manifest.entry_point(), ".sh")) return {"/bin/sh", manifest.entry_point()};
  return {"/usr/bin/python3", manifest.entry_point()};
}

}  // namespace trenode::analyses
