#include "tests/testutil/bundles.h"

#include <archive.h>
#include <archive_entry.h>

#include <stdexcept>

namespace trenode::testing {

std::string TarGz(const std::vector<ArchiveEntry>& entries) {
  size_t capacity = 1 << 20;
  for (const ArchiveEntry& e : entries) capacity += e.contents.size() + 1024;
  std::string out(capacity, '\0');
  size_t used = 0;
  archive* writer = archive_write_new();
  archive_write_add_filter_gzip(writer);
  archive_write_set_format_pax_restricted(writer);
  if (archive_write_open_memory(writer, out.data(), out.size(), &used) != ARCHIVE_OK) {
    throw std::runtime_error("cannot open the archive writer");
  }
  for (const ArchiveEntry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_perm(entry, 0644);
    switch (e.kind) {
      case ArchiveEntry::Kind::kFile:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.contents.size()));
        break;
      case ArchiveEntry::Kind::kDirectory:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case ArchiveEntry::Kind::kSymlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.contents.c_str());
        break;
      case ArchiveEntry::Kind::kHardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.contents.c_str());
        break;
      case ArchiveEntry::Kind::kFifo:
        archive_entry_set_filetype(entry, AE_IFIFO);
        break;
    }
    archive_write_header(writer, entry);
    if (e.kind == ArchiveEntry::Kind::kFile && !e.contents.empty()) {
      archive_write_data(writer, e.contents.data(), e.contents.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(writer);
  archive_write_free(writer);
  out.resize(used);
  return out;
}

std::string ScriptBundle(const std::string& entry_point, const std::string& program,
                         const std::vector<std::string>& datasets,
                         const std::vector<std::string>& outputs) {
  std::string manifest = "entry_point: \"" + entry_point + "\"\n";
  for (const auto& d : datasets) manifest += "datasets: \"" + d + "\"\n";
  for (const auto& o : outputs) manifest += "outputs: \"" + o + "\"\n";
  return TarGz({{"manifest.textproto", manifest}, {entry_point, program}});
}

}  // namespace trenode::testing
