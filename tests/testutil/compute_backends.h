// The real ComputeBackends for tests that run against each of them: the
// bubblewrap sandbox, and Slurm on a real single-node cluster that one test
// program shares (started on first use, stopped when the program ends).
#ifndef TRENODE_TESTS_TESTUTIL_COMPUTE_BACKENDS_H_
#define TRENODE_TESTS_TESTUTIL_COMPUTE_BACKENDS_H_

#include <memory>
#include <string>

#include "adapters/compute_backend.h"
#include "adapters/onprem/sandbox_backend.h"
#include "adapters/onprem/slurm_backend.h"
#include "gtest/gtest.h"
#include "tests/testutil/slurm_cluster.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/test_uids.h"

namespace trenode::testing {

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
