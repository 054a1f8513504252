#include "adapters/onprem/posix_object_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::adapters {
namespace fs = std::filesystem;
namespace {

constexpr char kStaging[] = ".staging";

absl::Status Errno(absl::string_view what, const fs::path& path) {
  int err = errno;
  std::string message = absl::StrCat(what, " ", path.string(), ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  return absl::UnavailableError(message);
}

absl::Status FsyncPath(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", path);
  return absl::OkStatus();
}

class PosixObjectReader : public ObjectReader {
 public:
  explicit PosixObjectReader(int fd) : fd_(fd) {}
  ~PosixObjectReader() override { ::close(fd_); }
  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    std::string buffer(max_bytes, '\0');
    ssize_t n;
    do {
      n = ::read(fd_, buffer.data(), max_bytes);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return absl::UnavailableError(absl::StrCat("read failed: ", std::strerror(errno)));
    buffer.resize(static_cast<size_t>(n));
    return buffer;
  }

 private:
  int fd_;
};

class PosixObjectWriter : public ObjectWriter {
 public:
  PosixObjectWriter(int fd, fs::path staged, fs::path target)
      : fd_(fd), staged_(std::move(staged)), target_(std::move(target)) {}
  ~PosixObjectWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(staged_.c_str());
  }
  absl::Status Append(absl::string_view data) override {
    if (committed_) return absl::FailedPreconditionError("writer already committed");
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("cannot write", staged_);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }
  absl::Status Commit() override {
    if (committed_) return absl::FailedPreconditionError("writer already committed");
    if (::fsync(fd_) != 0) return Errno("cannot fsync", staged_);
    ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    fs::create_directories(target_.parent_path(), ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot create ", target_.parent_path().string(), ": ", ec.message()));
    }
    if (::rename(staged_.c_str(), target_.c_str()) != 0) return Errno("cannot publish", target_);
    committed_ = true;
    return FsyncPath(target_.parent_path(), O_RDONLY | O_DIRECTORY);
  }

 private:
  int fd_;
  fs::path staged_;
  fs::path target_;
  bool committed_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PosixObjectStore>> PosixObjectStore::Open(fs::path root) {
  std::error_code ec;
  fs::create_directories(root / kStaging, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create object store directory ", root.string(), ": ", ec.message()));
  }
  // Only the node's user may enter the store; the objects inside are
  // world-readable so that sandboxed jobs can read the dataset files mounted
  // for them (spec/analyses.md, "Script jobs").
  if (::chmod(root.c_str(), 0700) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot restrict the object store directory ", root.string()));
  }
  for (const auto& leftover : fs::directory_iterator(root / kStaging, ec)) {
    fs::remove(leftover.path(), ec);
  }
  return std::unique_ptr<PosixObjectStore>(new PosixObjectStore(fs::absolute(root)));
}

absl::StatusOr<std::unique_ptr<ObjectReader>> PosixObjectStore::OpenRead(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  fs::path path = PathOf(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) {
      return absl::NotFoundError(absl::StrCat("no object at ", key));
    }
    return Errno("cannot open", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::NotFoundError(absl::StrCat("no object at ", key));
  }
  return std::make_unique<PosixObjectReader>(fd);
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> PosixObjectStore::OpenWrite(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  std::string pattern = (root_ / kStaging / "obj-XXXXXX").string();
  int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) return Errno("cannot stage", pattern);
  ::fchmod(fd, 0644);
  return std::make_unique<PosixObjectWriter>(fd, fs::path(pattern), PathOf(key));
}

absl::StatusOr<ObjectInfo> PosixObjectStore::Stat(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  struct stat st;
  if (::stat(PathOf(key).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("no object at ", key));
  }
  return ObjectInfo{std::string(key), static_cast<int64_t>(st.st_size)};
}

absl::StatusOr<std::vector<ObjectInfo>> PosixObjectStore::List(absl::string_view prefix) {
  std::vector<ObjectInfo> found;
  std::error_code ec;
  // Walk only the deepest directory the prefix names in full.
  absl::string_view dir_part =
      prefix.substr(0, prefix.rfind('/') == absl::string_view::npos ? 0 : prefix.rfind('/'));
  fs::path start = dir_part.empty() ? root_ : root_ / std::string(dir_part);
  if (!fs::is_directory(start, ec)) return found;
  for (auto it = fs::recursive_directory_iterator(start, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string relative = fs::relative(it->path(), root_).generic_string();
    if (absl::StartsWith(relative, kStaging)) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !absl::StartsWith(relative, prefix)) continue;
    found.push_back({relative, static_cast<int64_t>(it->file_size())});
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot list ", start.string(), ": ", ec.message()));
  }
  std::sort(found.begin(), found.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return found;
}

absl::Status PosixObjectStore::Copy(absl::string_view from, absl::string_view to) {
  RETURN_IF_ERROR(ValidateObjectKey(from));
  RETURN_IF_ERROR(ValidateObjectKey(to));
  RETURN_IF_ERROR(Stat(from).status());
  if (from == to) return absl::OkStatus();
  static std::atomic<uint64_t> links{0};
  fs::path staged = root_ / kStaging / absl::StrCat("link-", ::getpid(), "-", links++);
  if (::link(PathOf(from).c_str(), staged.c_str()) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no object at ", from));
    if (errno == EPERM || errno == EMLINK || errno == EOPNOTSUPP || errno == EXDEV) {
      return ObjectStore::Copy(from, to);
    }
    return Errno("cannot link", staged);
  }
  fs::path target = PathOf(to);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    ::unlink(staged.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot create ", target.parent_path().string(), ": ", ec.message()));
  }
  if (::rename(staged.c_str(), target.c_str()) != 0) {
    absl::Status failed = Errno("cannot publish", target);
    ::unlink(staged.c_str());
    return failed;
  }
  // rename() does nothing when both names are links to one file (`to` was
  // already a copy of `from`): the staged name is left to remove.
  ::unlink(staged.c_str());
  return FsyncPath(target.parent_path(), O_RDONLY | O_DIRECTORY);
}

absl::Status PosixObjectStore::Delete(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  RETURN_IF_ERROR(Stat(key).status());
  if (::unlink(PathOf(key).c_str()) != 0) return Errno("cannot delete", PathOf(key));
  return absl::OkStatus();
}

}  // namespace trenode::adapters
