// A real single-node Slurm cluster for tests: munged, slurmctld and slurmd
// from Debian, started as root on free loopback ports in a directory of their
// own, stopped (and their jobs with them) on destruction.
#ifndef TRENODE_TESTS_TESTUTIL_SLURM_CLUSTER_H_
#define TRENODE_TESTS_TESTUTIL_SLURM_CLUSTER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace trenode::testing {

class SlurmCluster {
 public:
  // Unavailable (with the daemons' logs) if it does not come up in 30 s.
  static absl::StatusOr<std::unique_ptr<SlurmCluster>> Start(const std::string& dir);
  ~SlurmCluster();

  // For SLURM_CONF.
  const std::string& conf() const { return conf_; }

 private:
  explicit SlurmCluster(std::string dir) : dir_(std::move(dir)) {}
  void Stop();

  std::string dir_;
  std::string conf_;
};

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_SLURM_CLUSTER_H_
