#include "node/trectl/bundle_packer.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "node/common/files.h"

namespace trenode::trectl {
namespace fs = std::filesystem;

absl::StatusOr<std::string> PackDirectory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return absl::NotFoundError(absl::StrCat("no directory ", dir));
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    fs::file_status status = it->symlink_status(ec);
    if (fs::is_directory(status)) continue;
    if (!fs::is_regular_file(status)) {
      return absl::InvalidArgumentError(
          absl::StrCat(it->path().string(), " is not a regular file; bundles hold only files"));
    }
    files.push_back(it->path().lexically_relative(dir));
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot read ", dir, ": ", ec.message()));
  std::sort(files.begin(), files.end());
  size_t capacity = 1 << 20;
  std::vector<std::string> contents;
  for (const fs::path& file : files) {
    std::optional<std::string> bytes = ReadWholeFile((fs::path(dir) / file).string());
    if (!bytes) return absl::UnavailableError(absl::StrCat("cannot read ", file.string()));
    capacity += bytes->size() + 1024;
    contents.push_back(*std::move(bytes));
  }
  std::string out(capacity, '\0');
  size_t used = 0;
  std::unique_ptr<archive, int (*)(archive*)> writer(archive_write_new(), archive_write_free);
  archive_write_add_filter_gzip(writer.get());
  archive_write_set_format_pax_restricted(writer.get());
  if (archive_write_open_memory(writer.get(), out.data(), out.size(), &used) != ARCHIVE_OK) {
    return absl::InternalError("cannot start the archive");
  }
  for (size_t i = 0; i < files.size(); ++i) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                   archive_entry_free);
    archive_entry_set_pathname(entry.get(), files[i].string().c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(contents[i].size()));
    if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK ||
        archive_write_data(writer.get(), contents[i].data(), contents[i].size()) < 0) {
      return absl::InternalError(absl::StrCat("cannot archive ", files[i].string(), ": ",
                                              archive_error_string(writer.get())));
    }
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    return absl::InternalError("cannot finish the archive");
  }
  out.resize(used);
  return out;
}

}  // namespace trenode::trectl
