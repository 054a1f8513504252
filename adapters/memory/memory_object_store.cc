#include "adapters/memory/memory_object_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::adapters {

class MemoryObjectReader : public ObjectReader {
 public:
  explicit MemoryObjectReader(std::shared_ptr<const std::string> data) : data_(std::move(data)) {}
  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    size_t n = std::min(max_bytes, data_->size() - offset_);
    std::string chunk = data_->substr(offset_, n);
    offset_ += n;
    return chunk;
  }

 private:
  std::shared_ptr<const std::string> data_;
  size_t offset_ = 0;
};

class MemoryObjectWriter : public ObjectWriter {
 public:
  MemoryObjectWriter(MemoryObjectStore* store, std::string key)
      : store_(store), key_(std::move(key)) {}
  absl::Status Append(absl::string_view data) override {
    if (committed_) return absl::FailedPreconditionError("writer already committed");
    data_.append(data.data(), data.size());
    return absl::OkStatus();
  }
  absl::Status Commit() override {
    if (committed_) return absl::FailedPreconditionError("writer already committed");
    committed_ = true;
    store_->Publish(std::move(key_), std::move(data_));
    return absl::OkStatus();
  }

 private:
  MemoryObjectStore* store_;
  std::string key_;
  std::string data_;
  bool committed_ = false;
};

void MemoryObjectStore::Publish(std::string key, std::string data) {
  auto object = std::make_shared<const std::string>(std::move(data));
  absl::MutexLock lock(&mu_);
  objects_[std::move(key)] = std::move(object);
}

absl::StatusOr<std::unique_ptr<ObjectReader>> MemoryObjectStore::OpenRead(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return absl::NotFoundError(absl::StrCat("no object at ", key));
  return std::make_unique<MemoryObjectReader>(it->second);
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> MemoryObjectStore::OpenWrite(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  return std::make_unique<MemoryObjectWriter>(this, std::string(key));
}

absl::StatusOr<ObjectInfo> MemoryObjectStore::Stat(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return absl::NotFoundError(absl::StrCat("no object at ", key));
  return ObjectInfo{it->first, static_cast<int64_t>(it->second->size())};
}

absl::StatusOr<std::vector<ObjectInfo>> MemoryObjectStore::List(absl::string_view prefix) {
  absl::MutexLock lock(&mu_);
  std::vector<ObjectInfo> found;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && absl::StartsWith(it->first, prefix); ++it) {
    found.push_back({it->first, static_cast<int64_t>(it->second->size())});
  }
  return found;
}

absl::Status MemoryObjectStore::Delete(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return absl::NotFoundError(absl::StrCat("no object at ", key));
  objects_.erase(it);
  return absl::OkStatus();
}

}  // namespace trenode::adapters
