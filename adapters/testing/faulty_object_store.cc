#include "adapters/testing/faulty_object_store.h"

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::adapters {
namespace {

absl::Status Injected(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("injected failure: ", what));
}

class FaultyReader : public ObjectReader {
 public:
  FaultyReader(std::unique_ptr<ObjectReader> inner, FaultyObjectStore* store)
      : inner_(std::move(inner)), store_(store) {}
  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    if (store_->fail_reads) return Injected("read");
    return inner_->Read(max_bytes);
  }

 private:
  std::unique_ptr<ObjectReader> inner_;
  FaultyObjectStore* store_;
};

class FaultyWriter : public ObjectWriter {
 public:
  FaultyWriter(std::unique_ptr<ObjectWriter> inner, FaultyObjectStore* store)
      : inner_(std::move(inner)), store_(store) {}
  absl::Status Append(absl::string_view data) override {
    if (store_->fail_writes) return Injected("write");
    return inner_->Append(data);
  }
  absl::Status Commit() override {
    if (store_->fail_writes || store_->fail_commits) return Injected("commit");
    return inner_->Commit();
  }

 private:
  std::unique_ptr<ObjectWriter> inner_;
  FaultyObjectStore* store_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectReader>> FaultyObjectStore::OpenRead(absl::string_view key) {
  if (fail_reads) return Injected("open for reading");
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, inner_->OpenRead(key));
  return std::unique_ptr<ObjectReader>(new FaultyReader(std::move(reader), this));
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> FaultyObjectStore::OpenWrite(absl::string_view key) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, inner_->OpenWrite(key));
  return std::unique_ptr<ObjectWriter>(new FaultyWriter(std::move(writer), this));
}

absl::Status FaultyObjectStore::Delete(absl::string_view key) {
  if (fail_deletes) return Injected("delete");
  return inner_->Delete(key);
}

}  // namespace trenode::adapters
