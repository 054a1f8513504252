// The real ComputeBackends for tests that run against each of them: the
// bubblewrap sandbox, and Slurm on a real single-node cluster that one test
// program shares (started on first use, stopped when the program ends).
#ifndef TRENODE_TESTS_TESTUTIL_COMPUTE_BACKENDS_H_
#define TRENODE_TESTS_TESTUTIL_COMPUTE_BACKENDS_H_

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "adapters/compute_backend.h"
#include "adapters/onprem/sandbox_backend.h"
#include "adapters/onprem/slurm_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/slurm_cluster.h"
#include "tests/testutil/temp_dir.h"

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

struct SandboxFactory {
  static std::unique_ptr<adapters::ComputeBackend> Make(const TempDir& dir) {
    adapters::SandboxOptions options;
    options.work_root = dir.File("jobs");
    options.first_uid = TestFirstUid();
    auto backend = adapters::SandboxBackend::Create(options);
    EXPECT_TRUE(backend.ok()) << backend.status();
    return std::move(backend).value();
  }
};

// One Slurm cluster for the whole test program, started on first use and
// stopped (with its daemons) when the program ends.
class SlurmEnvironment : public ::testing::Environment {
 public:
  static SlurmCluster* Cluster() {
    if (!cluster_) {
      dir_ = std::make_unique<TempDir>();
      auto started = SlurmCluster::Start(dir_->File("slurm"));
      EXPECT_TRUE(started.ok()) << started.status();
      if (started.ok()) cluster_ = std::move(started).value();
    }
    return cluster_.get();
  }
  void TearDown() override {
    cluster_.reset();
    dir_.reset();
  }

 private:
  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<SlurmCluster> cluster_;
};
inline ::testing::Environment* const kSlurmEnvironment =
    ::testing::AddGlobalTestEnvironment(new SlurmEnvironment);

struct SlurmFactory {
  static std::unique_ptr<adapters::ComputeBackend> Make(const TempDir& dir) {
    SlurmCluster* cluster = SlurmEnvironment::Cluster();
    if (cluster == nullptr) return nullptr;
    adapters::SlurmOptions options;
    options.work_root = dir.File("jobs");
    options.first_uid = TestFirstUid() + 32;
    options.slurm_conf = cluster->conf();
    auto backend = adapters::SlurmBackend::Create(options);
    EXPECT_TRUE(backend.ok()) << backend.status();
    return backend.ok() ? std::move(backend).value() : nullptr;
  }
};

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_COMPUTE_BACKENDS_H_
