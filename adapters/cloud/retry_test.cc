// Retries against a real local HTTP server (a few lines of Python's
// http.server) that answers each path's first N requests with a chosen status.
#include "adapters/cloud/retry.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil/server_process.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::adapters::cloud {
namespace {

// GET /STATUS/N/tag answers STATUS to the first N requests for that path, then 200.
constexpr char kFlakyServer[] = R"(
import http.server, sys, collections
seen = collections.Counter()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        status, n, _ = self.path.strip("/").split("/")
        seen[self.path] += 1
        code = int(status) if seen[self.path] <= int(n) else 200
        body = str(seen[self.path]).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
)";

class RetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int port = *testing::FreeLoopbackPort();
    auto server = testing::ServerProcess::Start({"python3", "-c", kFlakyServer, absl::StrCat(port)},
                                                {}, port, dir_.File("server.log"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  absl::StatusOr<HttpResponse> Get(const std::string& path, int* attempts) {
    return SendWithRetries(client_, policy_, [&]() -> absl::StatusOr<HttpRequest> {
      ++*attempts;
      return HttpRequest{"GET", absl::StrCat("http://", server_->address(), path), {}, ""};
    });
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::ServerProcess> server_;
  HttpClient client_;
  RetryPolicy policy_{4, absl::Milliseconds(1), absl::Milliseconds(10)};
};

TEST_F(RetryTest, ThrottlingIsRetriedUntilItPasses) {
  int attempts = 0;
  auto response = Get("/503/2/a", &attempts);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "3");
  EXPECT_EQ(attempts, 3);
}

TEST_F(RetryTest, PersistentServerErrorsReturnTheLastResponse) {
  int attempts = 0;
  auto response = Get("/500/100/b", &attempts);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(attempts, 4);
}

TEST_F(RetryTest, OtherClientErrorsAreNeverRetried) {
  for (const char* path : {"/403/5/c", "/404/5/d", "/412/5/e"}) {
    int attempts = 0;
    auto response = Get(path, &attempts);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_NE(response->status, 200) << path;
    EXPECT_EQ(attempts, 1) << path;
  }
}

TEST_F(RetryTest, TransportFailuresAreRetriedThenUnavailable) {
  server_->Kill();
  int attempts = 0;
  auto response = Get("/200/0/f", &attempts);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(attempts, 4);
}

TEST_F(RetryTest, AFailureToMakeTheRequestStopsAtOnce) {
  int attempts = 0;
  auto response = SendWithRetries(client_, policy_, [&]() -> absl::StatusOr<HttpRequest> {
    ++attempts;
    return absl::InvalidArgumentError("no credentials");
  });
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(attempts, 1);
}

TEST(RetryDelayTest, FullJitterUnderADoublingCeiling) {
  RetryPolicy policy{10, absl::Milliseconds(100), absl::Seconds(1)};
  absl::Duration longest[5];
  for (int attempt = 1; attempt <= 5; ++attempt) {
    for (int i = 0; i < 200; ++i) {
      absl::Duration delay = RetryDelay(policy, attempt);
      ASSERT_GE(delay, absl::ZeroDuration());
      longest[attempt - 1] = std::max(longest[attempt - 1], delay);
    }
  }
  EXPECT_LE(longest[0], absl::Milliseconds(100));
  EXPECT_GT(longest[1], absl::Milliseconds(100));  // 200 draws up to 200 ms
  EXPECT_LE(longest[1], absl::Milliseconds(200));
  EXPECT_LE(longest[4], absl::Seconds(1));  // capped
  EXPECT_GT(longest[4], absl::Milliseconds(800));
}

TEST(RetryableStatusTest, ServerErrorsAndThrottlingOnly) {
  for (int status : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(IsRetryableStatus(status)) << status;
  for (int status : {200, 201, 304, 400, 401, 403, 404, 409, 412, 416}) {
    EXPECT_FALSE(IsRetryableStatus(status)) << status;
  }
}

}  // namespace
}  // namespace trenode::adapters::cloud
