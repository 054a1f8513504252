#include "adapters/object_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::adapters {
namespace fs = std::filesystem;
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr char kPartial[] = ".partial";

// Reads `key` through, handing each chunk to `sink`; returns the SHA-256 hex.
absl::StatusOr<std::string> ReadThrough(ObjectStore& store, absl::string_view key,
                                        const std::function<absl::Status(absl::string_view)>& sink) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, store.OpenRead(key));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> digest(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  if (!digest || EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("cannot start a SHA-256");
  }
  while (true) {
    ASSIGN_OR_RETURN(std::string chunk, reader->Read(kChunk));
    if (chunk.empty()) break;
    EVP_DigestUpdate(digest.get(), chunk.data(), chunk.size());
    RETURN_IF_ERROR(sink(chunk));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(digest.get(), out, &length);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(out), length));
}

class Direct : public ObjectFiles {
 public:
  explicit Direct(std::function<fs::path(absl::string_view)> path_of)
      : path_of_(std::move(path_of)) {}
  absl::StatusOr<std::string> PathOf(absl::string_view key, absl::string_view) override {
    RETURN_IF_ERROR(ValidateObjectKey(key));
    return path_of_(key).string();
  }

 private:
  std::function<fs::path(absl::string_view)> path_of_;
};

}  // namespace

absl::StatusOr<std::string> Sha256OfObject(ObjectStore& store, absl::string_view key) {
  return ReadThrough(store, key, [](absl::string_view) { return absl::OkStatus(); });
}

std::unique_ptr<ObjectFiles> DirectObjectFiles(std::function<fs::path(absl::string_view)> path_of) {
  return std::make_unique<Direct>(std::move(path_of));
}

absl::StatusOr<std::unique_ptr<CachedObjectFiles>> CachedObjectFiles::Open(ObjectStore* store,
                                                                           fs::path dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  // Copies of datasets: the node's alone, as its POSIX store is.
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      ::chmod(dir.c_str(), 0700) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir.string(), " must be a directory of the node's own user (it keeps copies of datasets)"));
  }
  // Nothing left from before is trusted: every copy is made and checked anew.
  for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
  return std::unique_ptr<CachedObjectFiles>(new CachedObjectFiles(store, std::move(dir)));
}

int CachedObjectFiles::downloads() const {
  absl::MutexLock lock(&mu_);
  return downloads_;
}

absl::StatusOr<std::string> CachedObjectFiles::PathOf(absl::string_view key,
                                                      absl::string_view expected_sha256) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  // Copies are named by, and checked against, their content's hash.
  bool hex = expected_sha256.size() == 64 &&
             std::all_of(expected_sha256.begin(), expected_sha256.end(),
                         [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!hex) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the object ", key, " has no recorded SHA-256 to check a copy against; register it again"));
  }
  std::string name(expected_sha256);
  fs::path path = dir_ / absl::StrCat(name, ".copy");
  std::shared_ptr<absl::Mutex> file_mu;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<absl::Mutex>& slot = per_file_[name];
    if (!slot) slot = std::make_shared<absl::Mutex>();
    file_mu = slot;
  }
  absl::MutexLock file_lock(file_mu.get());
  std::error_code ec;
  if (fs::exists(path, ec)) return path.string();
  RETURN_IF_ERROR(Download(key, expected_sha256, path));
  return path.string();
}

absl::Status CachedObjectFiles::Download(absl::string_view key, absl::string_view expected_sha256,
                                         const fs::path& into) {
  fs::path partial = into;
  partial += kPartial;
  std::error_code ec;
  fs::remove(partial, ec);  // of a download that failed in this process
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot write ", partial.string()));
  absl::StatusOr<std::string> sha256 = ReadThrough(*store_, key, [&](absl::string_view chunk) {
    while (!chunk.empty()) {
      ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return absl::UnavailableError(absl::StrCat("cannot write ", partial.string()));
      chunk.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  });
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  auto discard = [&](absl::Status status) {
    fs::remove(partial, ec);
    return status;
  };
  if (!sha256.ok()) return discard(sha256.status());
  if (!synced) return discard(absl::UnavailableError(absl::StrCat("cannot write ", partial.string())));
  if (!expected_sha256.empty() && *sha256 != expected_sha256) {
    return discard(absl::DataLossError(absl::StrCat(
        "the object ", key, " has SHA-256 ", *sha256, ", not the ", expected_sha256,
        " recorded for it: it was changed in the object store")));
  }
  fs::rename(partial, into, ec);
  if (ec) return discard(absl::UnavailableError(absl::StrCat("cannot keep ", into.string())));
  absl::MutexLock lock(&mu_);
  ++downloads_;
  return absl::OkStatus();
}

}  // namespace trenode::adapters
