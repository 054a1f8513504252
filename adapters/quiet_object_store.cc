#include "adapters/quiet_object_store.h"

#include <atomic>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace trenode::adapters {
namespace {

std::atomic<int64_t> next_reference{1};

template <typename T>
absl::StatusOr<T> Quiet(absl::string_view operation, absl::StatusOr<T> result) {
  if (result.ok()) return result;
  return QuietObjectStore::Quieted(operation, result.status());
}

class QuietReader : public ObjectReader {
 public:
  explicit QuietReader(std::unique_ptr<ObjectReader> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    return Quiet("read", inner_->Read(max_bytes));
  }

 private:
  std::unique_ptr<ObjectReader> inner_;
};

class QuietWriter : public ObjectWriter {
 public:
  explicit QuietWriter(std::unique_ptr<ObjectWriter> inner) : inner_(std::move(inner)) {}
  absl::Status Append(absl::string_view data) override {
    return QuietObjectStore::Quieted("write", inner_->Append(data));
  }
  absl::Status Commit() override {
    return QuietObjectStore::Quieted("write", inner_->Commit());
  }

 private:
  std::unique_ptr<ObjectWriter> inner_;
};

}  // namespace

QuietObjectStore::QuietObjectStore(std::unique_ptr<ObjectStore> inner)
    : inner_(std::move(inner)), signer_(dynamic_cast<ObjectUrlSigner*>(inner_.get())) {}

absl::Status QuietObjectStore::Quieted(absl::string_view operation, const absl::Status& status) {
  if (status.ok()) return status;
  const int64_t reference = next_reference.fetch_add(1);
  std::cerr << "trenode: object store error #" << reference << " (" << operation
            << "): " << status.message() << "\n";
  return absl::Status(status.code(),
                      absl::StrCat("the object store could not ", operation, " (",
                                   absl::StatusCodeToString(status.code()),
                                   "); the node's log has the detail as object store error #",
                                   reference));
}

absl::StatusOr<std::unique_ptr<ObjectReader>> QuietObjectStore::OpenRead(absl::string_view key) {
  absl::StatusOr<std::unique_ptr<ObjectReader>> reader = inner_->OpenRead(key);
  if (!reader.ok()) return Quieted("read", reader.status());
  return std::unique_ptr<ObjectReader>(new QuietReader(*std::move(reader)));
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> QuietObjectStore::OpenWrite(absl::string_view key) {
  absl::StatusOr<std::unique_ptr<ObjectWriter>> writer = inner_->OpenWrite(key);
  if (!writer.ok()) return Quieted("write", writer.status());
  return std::unique_ptr<ObjectWriter>(new QuietWriter(*std::move(writer)));
}

absl::StatusOr<ObjectInfo> QuietObjectStore::Stat(absl::string_view key) {
  return Quiet("look up an object", inner_->Stat(key));
}

absl::StatusOr<std::vector<ObjectInfo>> QuietObjectStore::List(absl::string_view prefix) {
  return Quiet("list", inner_->List(prefix));
}

absl::Status QuietObjectStore::Delete(absl::string_view key) {
  return Quieted("delete", inner_->Delete(key));
}

absl::Status QuietObjectStore::Copy(absl::string_view from, absl::string_view to) {
  return Quieted("copy", inner_->Copy(from, to));
}

absl::StatusOr<PresignedRequest> QuietObjectStore::PresignGet(absl::string_view key,
                                                              absl::Duration valid_for) {
  if (signer_ == nullptr) {
    return absl::FailedPreconditionError("the object store cannot presign URLs");
  }
  return signer_->PresignGet(key, valid_for);
}

absl::StatusOr<PresignedRequest> QuietObjectStore::PresignPut(absl::string_view key,
                                                              absl::Duration valid_for) {
  if (signer_ == nullptr) {
    return absl::FailedPreconditionError("the object store cannot presign URLs");
  }
  return signer_->PresignPut(key, valid_for);
}

}  // namespace trenode::adapters
