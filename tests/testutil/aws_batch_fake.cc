#include "tests/testutil/aws_batch_fake.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "adapters/cloud/http_client.h"
#include "gtest/gtest.h"
#include "tests/testutil/s3_emulator.h"

namespace trenode::testing {

AwsBatchFake* AwsBatchFake::Get() {
  static std::unique_ptr<AwsBatchFake> fake = []() -> std::unique_ptr<AwsBatchFake> {
    absl::Status last;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a port may be taken meanwhile
      std::unique_ptr<AwsBatchFake> f(new AwsBatchFake());
      last = f->Start();
      if (last.ok()) return f;
    }
    ADD_FAILURE() << last;
    return nullptr;
  }();
  return fake.get();
}

absl::Status AwsBatchFake::Start() {
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"/usr/bin/python3", SourceDir() + "/tests/emulators/fake_aws_batch.py", "--port",
       absl::StrCat(*port), "--region", "us-east-1", "--queue", kQueue, "--definition",
       kDefinition, "--runner", TRENODE_JOB_RUNNER, "--log-dir", dir_.path().string(),
       // The job runner meters jobs by a cgroup of their own here, and from
       // its reaped children on the Azure Batch fake: both ways are run.
       "--delegate-cgroups"},
      {}, *port, dir_.File("fake_aws_batch.log"));
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  return Control(absl::StrCat(R"({"credentials": {")", S3Emulator::kAccessKey,
                              R"(": {"secret": ")", S3Emulator::kSecret, R"("}}})"));
}

std::string AwsBatchFake::endpoint() const { return absl::StrCat("http://", server_->address()); }

adapters::aws::AwsBatchOptions AwsBatchFake::Options(const std::string& region) const {
  adapters::aws::AwsBatchOptions options;
  options.region = region;
  options.endpoint = endpoint();
  options.job_queue = kQueue;
  options.job_definition = kDefinition;
  options.retry.first_delay = absl::Milliseconds(5);
  options.retry.max_delay = absl::Milliseconds(50);
  return options;
}

absl::Status AwsBatchFake::Control(const std::string& json) {
  adapters::cloud::HttpClient http;
  auto response = http.Send({"POST", endpoint() + "/__batch",
                             {{"Content-Type", "application/json"}}, json});
  if (!response.ok()) return response.status();
  if (response->status != 200) return absl::InternalError(response->body);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> AwsBatchFake::Counter(const std::string& name) {
  adapters::cloud::HttpClient http;
  auto response = http.Send({"GET", endpoint() + "/__batch", {}, ""});
  if (!response.ok()) return response.status();
  return JsonCounter(response->body, name);
}

}  // namespace trenode::testing
