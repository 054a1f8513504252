#include "tests/testutil/fake_azure_batch.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "adapters/cloud/http_client.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/common/status_macros.h"

namespace trenode::testing {

absl::StatusOr<std::unique_ptr<FakeAzureBatch>> FakeAzureBatch::Start(const std::string& runner) {
  std::unique_ptr<FakeAzureBatch> fake(new FakeAzureBatch());
  ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
  ASSIGN_OR_RETURN(fake->server_,
                   ServerProcess::Start({"python3", SourceDir() + "/tests/emulators/fake_azure_batch.py",
                                         "--port", absl::StrCat(port), "--account", kAccount,
                                         "--key", kKey, "--runner", runner, "--log-dir",
                                         fake->dir_.path().string()},
                                        {}, port, fake->dir_.File("fake_azure_batch.log")));
  return fake;
}

std::string FakeAzureBatch::endpoint() const {
  return absl::StrCat("http://", server_->address());
}

absl::Status FakeAzureBatch::Throttle(int requests) {
  return Control("POST", absl::StrCat("{\"throttle\": ", requests, "}")).status();
}

absl::StatusOr<FakeAzureBatch::Counters> FakeAzureBatch::counters() { return Control("GET", ""); }

absl::StatusOr<FakeAzureBatch::Counters> FakeAzureBatch::Control(const std::string& method,
                                                                 const std::string& body) {
  adapters::cloud::HttpClient http;
  ASSIGN_OR_RETURN(adapters::cloud::HttpResponse response,
                   http.Send({method, endpoint() + "/_control",
                              {{"Content-Type", "application/json"}}, body}));
  google::protobuf::Struct json;
  if (response.status != 200 ||
      !google::protobuf::util::JsonStringToMessage(response.body, &json).ok()) {
    return absl::InternalError(absl::StrCat("fake_azure_batch control: ", response.status, " ",
                                            response.body));
  }
  auto field = [&](const char* name) {
    auto it = json.fields().find(name);
    return it == json.fields().end() ? 0 : static_cast<int>(it->second.number_value());
  };
  return Counters{field("requests"), field("refused"), field("throttled")};
}

std::string FakeAzureBatch::Log() const {
  std::string log;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    absl::StrAppend(&log, "== ", entry.path().filename().string(), "\n", ReadFile(entry.path()));
  }
  return log;
}

}  // namespace trenode::testing
