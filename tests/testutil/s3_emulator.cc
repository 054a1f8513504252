#include "tests/testutil/s3_emulator.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "adapters/cloud/http_client.h"
#include "gtest/gtest.h"

namespace trenode::testing {
S3Emulator* S3Emulator::Get() {
  // Destroyed as the program ends, stopping the servers.
  static std::unique_ptr<S3Emulator> emulator = []() -> std::unique_ptr<S3Emulator> {
    absl::Status last;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a port may be taken meanwhile
      std::unique_ptr<S3Emulator> e(new S3Emulator());
      last = e->Start();
      if (last.ok()) return e;
    }
    ADD_FAILURE() << last << " (run scripts/install-deps for tests/emulators)";
    return nullptr;
  }();
  return emulator.get();
}

absl::Status S3Emulator::Start() {
  std::string emulators = SourceDir() + "/tests/emulators";
  if (!std::filesystem::exists(emulators + "/node_modules/s3rver/bin/s3rver.js")) {
    return absl::FailedPreconditionError(
        absl::StrCat(emulators, "/node_modules has no s3rver: run `npm ci` there"));
  }
  absl::StatusOr<int> s3_port = FreeLoopbackPort();
  absl::StatusOr<int> proxy_port = FreeLoopbackPort();
  if (!s3_port.ok()) return s3_port.status();
  if (!proxy_port.ok()) return proxy_port.status();
  // The proxy checks signatures; s3rver is told to take any well-formed one.
  // Virtual-hosted requests go to <bucket>.s3.localhost (curl resolves any
  // *.localhost to loopback).
  absl::StatusOr<std::unique_ptr<ServerProcess>> s3rver = ServerProcess::Start(
      {"node", emulators + "/node_modules/s3rver/bin/s3rver.js", "-d", dir_.File("s3rver"), "-a",
       "127.0.0.1", "-p", absl::StrCat(*s3_port), "--silent", "--allow-mismatched-signatures",
       "--service-endpoint", "localhost"},
      {"NODE_OPTIONS=--openssl-legacy-provider"}, *s3_port, dir_.File("s3rver.log"));
  if (!s3rver.ok()) return s3rver.status();
  s3rver_ = *std::move(s3rver);
  absl::StatusOr<std::unique_ptr<ServerProcess>> proxy =
      ServerProcess::Start({"/usr/bin/python3", emulators + "/sigv4_proxy.py", "--port",
                            absl::StrCat(*proxy_port), "--upstream-port", absl::StrCat(*s3_port)},
                           {}, *proxy_port, dir_.File("proxy.log"));
  if (!proxy.ok()) return proxy.status();
  proxy_ = *std::move(proxy);
  return Control(
      absl::StrCat(R"({"credentials": {")", kAccessKey, R"(": {"secret": ")", kSecret, R"("}}})"));
}

std::string S3Emulator::endpoint() const { return absl::StrCat("http://", proxy_->address()); }

absl::StatusOr<adapters::aws::S3Options> S3Emulator::NewBucket() {
  adapters::aws::S3Options options;
  options.bucket = absl::StrCat("trenode-test-", ::getpid(), "-", ++buckets_);
  options.endpoint = endpoint();
  options.path_style = true;
  options.part_size = 5 << 20;
  options.list_page_size = 7;
  options.retry.first_delay = absl::Milliseconds(5);
  options.retry.max_delay = absl::Milliseconds(50);
  auto store = adapters::aws::S3ObjectStore::Open(
      options, adapters::aws::StaticCredentials({kAccessKey, kSecret, ""}));
  if (!store.ok()) return store.status();
  if (absl::Status created = (*store)->CreateBucket(); !created.ok()) return created;
  return options;
}

absl::Status S3Emulator::Control(const std::string& json) {
  adapters::cloud::HttpClient http;
  auto response =
      http.Send({"POST", endpoint() + "/__proxy", {{"Content-Type", "application/json"}}, json});
  if (!response.ok()) return response.status();
  if (response->status != 200) return absl::InternalError(response->body);
  return absl::OkStatus();
}

absl::StatusOr<std::string> S3Emulator::State() {
  adapters::cloud::HttpClient http;
  auto response = http.Send({"GET", endpoint() + "/__proxy", {}, ""});
  if (!response.ok()) return response.status();
  return response->body;
}

absl::StatusOr<int64_t> S3Emulator::Counter(const std::string& name) {
  adapters::cloud::HttpClient http;
  auto response = http.Send({"GET", endpoint() + "/__proxy", {}, ""});
  if (!response.ok()) return response.status();
  return JsonCounter(response->body, name);
}

}  // namespace trenode::testing
