// An ObjectStore held in memory: the fake for unit tests. Thread-safe.
#ifndef TRENODE_ADAPTERS_MEMORY_MEMORY_OBJECT_STORE_H_
#define TRENODE_ADAPTERS_MEMORY_MEMORY_OBJECT_STORE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "adapters/object_store.h"

namespace trenode::adapters {

class MemoryObjectStore : public ObjectStore {
 public:
  absl::StatusOr<std::unique_ptr<ObjectReader>> OpenRead(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<ObjectWriter>> OpenWrite(absl::string_view key) override;
  absl::StatusOr<ObjectInfo> Stat(absl::string_view key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view key) override;

 private:
  friend class MemoryObjectWriter;
  void Publish(std::string key, std::string data);

  absl::Mutex mu_;
  // Objects are immutable once published; readers hold a reference.
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>> objects_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_MEMORY_MEMORY_OBJECT_STORE_H_
