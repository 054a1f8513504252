// An ObjectStore over a local directory: object "a/b" is the file ROOT/a/b.
// Writers stage into ROOT/.staging and publish with fsync + rename, so a
// reader sees the old object or the whole new one, and a crash leaves no
// partial object at a key. The root directory is made 0700 (only the node's
// user may enter it) and objects are 0644, so that a sandboxed job can read a
// dataset file mounted for it without reaching any other. Thread-safe.
#ifndef TRENODE_ADAPTERS_ONPREM_POSIX_OBJECT_STORE_H_
#define TRENODE_ADAPTERS_ONPREM_POSIX_OBJECT_STORE_H_

#include <filesystem>
#include <memory>

#include "adapters/object_store.h"

namespace trenode::adapters {

class PosixObjectStore : public ObjectStore {
 public:
  // Creates `root` if needed and clears staging files left by a crash.
  // Unavailable if the directory cannot be created or written.
  static absl::StatusOr<std::unique_ptr<PosixObjectStore>> Open(std::filesystem::path root);

  absl::StatusOr<std::unique_ptr<ObjectReader>> OpenRead(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<ObjectWriter>> OpenWrite(absl::string_view key) override;
  absl::StatusOr<ObjectInfo> Stat(absl::string_view key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view key) override;
  // A hard link, not a second copy of the bytes: objects are never changed
  // in place (every write stages a new file and renames it over the key),
  // so writing or deleting either key later leaves the other as it was.
  // The link is made in staging and renamed over `to`, then `to`'s
  // directory is synced, as a write's is. Falls back to copying the bytes
  // where the file system refuses hard links.
  absl::Status Copy(absl::string_view from, absl::string_view to) override;

  // The file holding the object at `key` (which may not exist).
  std::filesystem::path PathOf(absl::string_view key) const { return root_ / std::string(key); }

 private:
  explicit PosixObjectStore(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_ONPREM_POSIX_OBJECT_STORE_H_
