// An ObjectStore wrapper for failure tests: forwards to another store, and
// fails chosen operations with Unavailable, as a full disk or a lost network
// would. Thread-safe if the wrapped store is.
#ifndef TRENODE_ADAPTERS_TESTING_FAULTY_OBJECT_STORE_H_
#define TRENODE_ADAPTERS_TESTING_FAULTY_OBJECT_STORE_H_

#include <atomic>
#include <memory>

#include "adapters/object_store.h"

namespace trenode::adapters {

class FaultyObjectStore : public ObjectStore {
 public:
  // `inner` must outlive this store.
  explicit FaultyObjectStore(ObjectStore* inner) : inner_(inner) {}

  // Which operations fail from now on.
  std::atomic<bool> fail_writes{false};   // Append and Commit of new writers
  std::atomic<bool> fail_commits{false};  // Commit only
  std::atomic<bool> fail_reads{false};    // OpenRead and Read
  std::atomic<bool> fail_deletes{false};

  absl::StatusOr<std::unique_ptr<ObjectReader>> OpenRead(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<ObjectWriter>> OpenWrite(absl::string_view key) override;
  absl::StatusOr<ObjectInfo> Stat(absl::string_view key) override { return inner_->Stat(key); }
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override {
    return inner_->List(prefix);
  }
  absl::Status Delete(absl::string_view key) override;

 private:
  ObjectStore* inner_;
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_TESTING_FAULTY_OBJECT_STORE_H_
