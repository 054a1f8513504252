// A fresh temporary directory for one test, removed with its contents when
// the TempDir is destroyed.
#ifndef TRENODE_TESTS_TESTUTIL_TEMP_DIR_H_
#define TRENODE_TESTS_TESTUTIL_TEMP_DIR_H_

#include <filesystem>
#include <string>

namespace trenode::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `contents` to `path`, creating parent directories.
void WriteFile(const std::filesystem::path& path, const std::string& contents);
std::string ReadFile(const std::filesystem::path& path);

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_TEMP_DIR_H_
