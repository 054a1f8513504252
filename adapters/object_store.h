// ObjectStore: where a node keeps bytes (dataset files, outboxes, released
// outputs), behind one narrow interface with posix, S3, Azure Blob and
// in-memory implementations. tests/contract/object_store_contract_test.cc is
// the contract every implementation passes.
//
// Keys are relative, '/'-separated paths; each segment is 1..255 characters of
// [A-Za-z0-9._-], not starting with '.'. Writes are all-or-nothing: an object
// appears at its key only when its writer commits, and replaces any earlier
// object there atomically.
//
// Thread-safety: an ObjectStore may be used from many threads at once; each
// reader or writer belongs to one thread at a time.
#ifndef TRENODE_ADAPTERS_OBJECT_STORE_H_
#define TRENODE_ADAPTERS_OBJECT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::adapters {

// OK, or InvalidArgument saying what is wrong with `key`.
absl::Status ValidateObjectKey(absl::string_view key);

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
};

class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Up to `max_bytes` of the object's next bytes; empty at the end.
  virtual absl::StatusOr<std::string> Read(size_t max_bytes) = 0;
};

class ObjectWriter {
 public:
  // Discards everything appended unless Commit() succeeded.
  virtual ~ObjectWriter() = default;
  virtual absl::Status Append(absl::string_view data) = 0;
  // Durably publishes the object at its key. FailedPrecondition if called twice.
  virtual absl::Status Commit() = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // NotFound if there is no object at `key`.
  virtual absl::StatusOr<std::unique_ptr<ObjectReader>> OpenRead(absl::string_view key) = 0;
  virtual absl::StatusOr<std::unique_ptr<ObjectWriter>> OpenWrite(absl::string_view key) = 0;
  // NotFound if there is no object at `key`.
  virtual absl::StatusOr<ObjectInfo> Stat(absl::string_view key) = 0;
  // Every object whose key starts with `prefix`, sorted by key.
  virtual absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) = 0;
  // NotFound if there is no object at `key`.
  virtual absl::Status Delete(absl::string_view key) = 0;
  // Copies `from` to `to` (replacing `to`). NotFound if `from` is absent.
  // The default streams through a reader and a writer.
  virtual absl::Status Copy(absl::string_view from, absl::string_view to);
};

// Whole-object conveniences over the interface.
absl::StatusOr<std::string> ReadObject(ObjectStore& store, absl::string_view key);
absl::Status WriteObject(ObjectStore& store, absl::string_view key, absl::string_view data);

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_OBJECT_STORE_H_
