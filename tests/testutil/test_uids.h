// Job uids for test programs: each running test program holds a range of 64
// that no other one running at once holds.
#ifndef TRENODE_TESTS_TESTUTIL_TEST_UIDS_H_
#define TRENODE_TESTS_TESTUTIL_TEST_UIDS_H_

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>

namespace trenode::testing {

// The first of 64 job uids for this test process, a range no other test
// process running at once holds (so they never share a process limit): slot
// N is held by an exclusive flock on kUidSlotDir/N, kept open until the
// process ends. tests/e2e/harness.py claims slots the same way.
inline constexpr char kUidSlotDir[] = "/tmp/trenode-test-uid-slots";
inline uid_t TestFirstUid() {
  static const uid_t first = [] {
    ::mkdir(kUidSlotDir, 0700);
    uid_t start = static_cast<uid_t>(::getpid() % 1000);
    for (uid_t i = 0; i < 1000; ++i) {
      uid_t slot = (start + i) % 1000;
      std::string path = std::string(kUidSlotDir) + "/" + std::to_string(slot);
      int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0) continue;
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return 300000 + slot * 64;  // fd stays open
      ::close(fd);
    }
    return 300000 + start * 64;  // every slot held: share one
  }();
  return first;
}

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_TEST_UIDS_H_
