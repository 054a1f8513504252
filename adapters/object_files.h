// Objects as local files, for readers that need a path (SQLite opens its
// dataset files; sandboxes mount them): a POSIX store's own files, or
// verified copies of a cloud store's objects.
#ifndef TRENODE_ADAPTERS_OBJECT_FILES_H_
#define TRENODE_ADAPTERS_OBJECT_FILES_H_

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "adapters/object_store.h"

namespace trenode::adapters {

// The SHA-256 (lower-case hex) of the object at `key`, read through once.
absl::StatusOr<std::string> Sha256OfObject(ObjectStore& store, absl::string_view key);

class ObjectFiles {
 public:
  virtual ~ObjectFiles() = default;
  // A local file holding the object at `key`, whose SHA-256 (64 lower-case
  // hex digits) must be `expected_sha256` (DataLoss if it is not: the object
  // was changed behind the node's back). The file stays while the node runs;
  // callers only read it. A store whose objects are files may ignore the hash.
  virtual absl::StatusOr<std::string> PathOf(absl::string_view key,
                                             absl::string_view expected_sha256) = 0;
};

// For stores whose objects are files already: the path, no copy. `path_of`
// maps a key to its file.
std::unique_ptr<ObjectFiles> DirectObjectFiles(
    std::function<std::filesystem::path(absl::string_view)> path_of);

// Copies into `dir` (mode 0700, owned by the node's user, emptied when the
// cache opens: nothing from before is trusted), one per object content, made
// once (callers asking for one object at once wait for a single download)
// and checked by SHA-256 before anyone reads them. FailedPrecondition for an
// object with no recorded hash.
class CachedObjectFiles : public ObjectFiles {
 public:
  static absl::StatusOr<std::unique_ptr<CachedObjectFiles>> Open(ObjectStore* store,
                                                                 std::filesystem::path dir);
  absl::StatusOr<std::string> PathOf(absl::string_view key,
                                     absl::string_view expected_sha256) override;
  // How many objects were downloaded (for tests).
  int downloads() const;

 private:
  CachedObjectFiles(ObjectStore* store, std::filesystem::path dir)
      : store_(store), dir_(std::move(dir)) {}
  absl::Status Download(absl::string_view key, absl::string_view expected_sha256,
                        const std::filesystem::path& into);

  ObjectStore* store_;
  const std::filesystem::path dir_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<absl::Mutex>> per_file_ ABSL_GUARDED_BY(mu_);
  int downloads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_OBJECT_FILES_H_
