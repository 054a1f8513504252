// trenode-job-runner: the entry point of the TRE's batch container image
// (adapters/cloud/job_runner.h). Reads the manifest's presigned URL from the
// environment variable TRENODE_JOB_MANIFEST_URL; exits 0 once the job's
// result is delivered, 1 if it could not be (the message on stderr).
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "adapters/cloud/job_runner.h"

namespace {
constexpr char kUsage[] =
    "usage: trenode-job-runner\n"
    "Runs one trenode script job in a cloud batch container: reads the job's\n"
    "manifest from the presigned URL in $TRENODE_JOB_MANIFEST_URL, runs it and\n"
    "uploads its result. Takes no arguments.\n";
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    if (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "trenode-job-runner: unknown argument %s\n%s", argv[1], kUsage);
    return 2;
  }
  // Nothing of this process may be read by the job (which runs as another
  // uid, but defence in depth): no /proc/<pid>/environ or memory for anyone
  // but root, and the URL wiped from the environment's memory once copied.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  char* found = std::getenv("TRENODE_JOB_MANIFEST_URL");
  if (found == nullptr || *found == '\0') {
    std::fprintf(stderr, "trenode-job-runner: TRENODE_JOB_MANIFEST_URL is not set\n");
    return 2;
  }
  const std::string url = found;
  std::memset(found, 0, url.size());
  ::unsetenv("TRENODE_JOB_MANIFEST_URL");
  trenode::adapters::cloud::HttpClient http;
  absl::Status status =
      trenode::adapters::cloud::RunBatchJob(url, http, trenode::adapters::cloud::RunnerOptions{});
  if (!status.ok()) {
    std::fprintf(stderr, "trenode-job-runner: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
