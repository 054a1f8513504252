#include "adapters/object_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"

namespace trenode::adapters {
namespace {
constexpr size_t kCopyChunk = 1 << 20;

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
}  // namespace

absl::Status ValidateObjectKey(absl::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("object key is empty");
  if (key.size() > 1024) {
    return absl::InvalidArgumentError(absl::StrCat("object key is longer than 1024 bytes"));
  }
  for (absl::string_view segment : absl::StrSplit(key, '/')) {
    if (segment.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("object key \"", key,
                       "\" has an empty segment (leading, trailing or "
                       "double '/')"));
    }
    if (segment.front() == '.') {
      return absl::InvalidArgumentError(absl::StrCat(
          "object key \"", key, "\" has a segment starting with '.': \"", segment, "\""));
    }
    if (segment.size() > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("object key \"", key, "\" has a segment longer than 255 bytes"));
    }
    for (char c : segment) {
      if (!IsKeyChar(c)) {
        return absl::InvalidArgumentError(
            absl::StrCat("object key \"", key, "\" has a character outside [A-Za-z0-9._-/]"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ObjectStore::Copy(absl::string_view from, absl::string_view to) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, OpenRead(from));
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, OpenWrite(to));
  while (true) {
    ASSIGN_OR_RETURN(std::string chunk, reader->Read(kCopyChunk));
    if (chunk.empty()) break;
    RETURN_IF_ERROR(writer->Append(chunk));
  }
  return writer->Commit();
}

absl::StatusOr<std::string> ReadObject(ObjectStore& store, absl::string_view key) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, store.OpenRead(key));
  std::string all;
  while (true) {
    ASSIGN_OR_RETURN(std::string chunk, reader->Read(kCopyChunk));
    if (chunk.empty()) return all;
    all += chunk;
  }
}

absl::Status WriteObject(ObjectStore& store, absl::string_view key, absl::string_view data) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, store.OpenWrite(key));
  RETURN_IF_ERROR(writer->Append(data));
  return writer->Commit();
}

}  // namespace trenode::adapters
