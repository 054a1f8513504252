// The job runner: the one program a cloud batch service runs for a node, in
// the TRE's container image (adapters/cloud/batch_compute_backend.h). It
// holds no cloud credentials: it reads its BatchJobManifest
// (proto/trenode/internal/batch_job.proto) through one presigned GET, fetches
// the job's code and datasets through the presigned GETs in it (refusing any
// file whose SHA-256 differs), runs the job as the on-prem sandbox would
// (code read-only at /job/code as the working directory, datasets read-only
// at /data/<name>.sqlite, writable /job/outbox, a clean environment, the
// job's CPU, memory, process, file-size and wall-clock limits, an
// unprivileged uid), and returns its exit status, logs and outbox in one
// BatchJobResult through the presigned PUT, with what the job used (CPU,
// wall time, peak memory) metered from the kernel once every process of
// the job has exited: from a cgroup of the job's own where the container
// lets the runner make one, otherwise from the rusage of the processes the
// runner reaped (it is the subreaper of the job's whole tree). Nothing the
// job writes is read for it. Once it has the manifest, a SIGTERM (the
// service stopping the container) makes it stop the job and still return
// the result, marked terminated, with what the job used until then.
//
// The runner must be its container's only program and run as root there
// (it drops to `job_uid` for the job): when the job ends it kills every
// process of that uid it can see, so that nothing the job started writes on.
// The container's network must reach only the object store (the README's
// private network set-up); its runtime's default seccomp profile applies.
#ifndef TRENODE_ADAPTERS_CLOUD_JOB_RUNNER_H_
#define TRENODE_ADAPTERS_CLOUD_JOB_RUNNER_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "adapters/cloud/http_client.h"

namespace trenode::adapters::cloud {

struct RunnerOptions {
  std::string job_root = "/job";
  std::string data_root = "/data";
  std::string log_dir = "/tmp/trenode-runner";  // the job's stdout and stderr
  uid_t job_uid = 65534;                        // nobody
  gid_t job_gid = 65534;
  // Where in the container's cgroup tree the runner makes a cgroup for the
  // job, if the tree is mounted writable ("": never); otherwise the job is
  // metered from the runner's reaped children.
  std::string cgroup_parent = "trenode-job-runner";
};

// True for a relative path of plain segments (none empty, "." or ".."), as
// code files and outputs are named between node and runner.
bool IsPlainRelativePath(const std::string& path);

// Runs the job of the manifest at `manifest_url` and delivers its result.
// OK once the result is delivered, whatever the job did (a staging failure
// is delivered as runner_error); an error only if the manifest cannot be
// read or the result cannot be delivered (the node then reports the job as
// ended by its backend).
absl::Status RunBatchJob(const std::string& manifest_url, HttpClient& http,
                         const RunnerOptions& options);

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_JOB_RUNNER_H_
