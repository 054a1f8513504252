// Script bundles as a researcher uploads them: any bytes to InspectBundle
// (libarchive reads tar with or without gzip, so the fuzzer can work on the
// tar layer directly). An accepted bundle lists plain relative paths once
// each, names a manifest whose entry point is one of them, and extracts to
// exactly those files and sizes inside a fresh directory, nothing else.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "node/analyses/bundle.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

namespace fs = std::filesystem;

const fs::path& WorkDir() {
  static const fs::path* dir = [] {
    std::string pattern = (fs::temp_directory_path() / "trenode-fuzz-bundle-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
    std::atexit([] { fs::remove_all(WorkDir()); });
    return new fs::path(pattern);
  }();
  return *dir;
}

bool PlainRelativePath(const std::string& path) {
  if (path.empty() || path[0] == '/') return false;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty() || segment == "." || segment == "..") return false;
  }
  return true;
}

// Small limits keep each run fast; the checks are the same at any size.
constexpr trenode::analyses::BundleLimits kLimits{
    .max_archive_bytes = 1 << 20, .max_content_bytes = 1 << 20, .max_entries = 64};

}  // namespace

TRENODE_FUZZ_TARGET(bundle) {
  absl::string_view archive(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<trenode::v1::Bundle> bundle = trenode::analyses::InspectBundle(archive, kLimits);
  if (!bundle.ok()) {
    FUZZ_CHECK(bundle.status().code() == absl::StatusCode::kInvalidArgument ||
               bundle.status().code() == absl::StatusCode::kResourceExhausted);
    FUZZ_CHECK(absl::StartsWith(bundle.status().message(), "bundle: "));
    return 0;
  }
  FUZZ_CHECK(bundle->size() == static_cast<int64_t>(size));
  FUZZ_CHECK(bundle->sha256().size() == 64);
  std::map<std::string, int64_t> listed;
  int64_t content = 0;
  for (const trenode::v1::BundleFile& file : bundle->files()) {
    FUZZ_CHECK(PlainRelativePath(file.path()));
    FUZZ_CHECK(file.size() >= 0);
    FUZZ_CHECK(listed.emplace(file.path(), file.size()).second);
    content += file.size();
  }
  FUZZ_CHECK(content <= kLimits.max_content_bytes);
  FUZZ_CHECK(listed.contains(trenode::analyses::kManifestName));
  FUZZ_CHECK(listed.contains(bundle->manifest().entry_point()));
  // What is stored about a bundle must parse back (proto3 strings are UTF-8).
  trenode::v1::Bundle reparsed;
  FUZZ_CHECK(reparsed.ParseFromString(bundle->SerializeAsString()));

  const fs::path dir = WorkDir() / "extract";
  fs::remove_all(dir);
  fs::create_directory(dir);
  FUZZ_CHECK(trenode::analyses::ExtractBundle(archive, dir.string(), kLimits).ok());
  std::map<std::string, int64_t> extracted;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    FUZZ_CHECK(!entry.is_symlink());
    if (entry.is_directory()) continue;
    FUZZ_CHECK(entry.is_regular_file());
    extracted[fs::relative(entry.path(), dir).string()] = static_cast<int64_t>(entry.file_size());
  }
  FUZZ_CHECK(extracted == listed);
  fs::remove_all(dir);
  return 0;
}
