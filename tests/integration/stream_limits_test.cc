// Streams hold a server thread each: one caller opening hundreds of them,
// or many callers together, get RESOURCE_EXHAUSTED for the streams past
// their share, and everyone else's calls keep being answered.
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/completion_queue.h"
#include "gtest/gtest.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/activity_log.grpc.pb.h"

namespace trenode {
namespace {
using testing::TestNode;

struct OpenStream {
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::ClientAsyncReader<trenode::v1::LogEntry>> reader;
  grpc::Status status;
  bool finished = false;
};

class StreamLimitsTest : public ::testing::Test {
 protected:
  // Opens `count` WatchEntries streams as auditor `subject`, asynchronously.
  void Open(const std::string& subject, int count) {
    for (int i = 0; i < count; ++i) {
      auto stream = std::make_unique<OpenStream>();
      stream->context = testing::WithToken(node_.Token(subject, {"auditor"}));
      stream->context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      trenode::v1::WatchEntriesRequest request;
      stream->reader = log_->AsyncWatchEntries(stream->context.get(), request, &queue_,
                                               Tag(streams_.size(), 0));
      stream->reader->Finish(&stream->status, Tag(streams_.size(), 1));
      streams_.push_back(std::move(stream));
    }
  }

  // Collects what has finished within `wait`; returns how many streams were
  // refused for their number.
  int Refused(absl::Duration wait) {
    absl::Time deadline = absl::Now() + wait;
    void* tag;
    bool ok;
    while (absl::Now() < deadline) {
      auto next = queue_.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
      if (next != grpc::CompletionQueue::GOT_EVENT) continue;
      uintptr_t value = reinterpret_cast<uintptr_t>(tag);
      if (value % 2 == 1) streams_[value / 2]->finished = true;
    }
    int refused = 0;
    for (const auto& stream : streams_) {
      refused += stream->finished &&
                 stream->status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
    }
    return refused;
  }

  // Unary calls of someone else, answered promptly.
  void OthersAreAnswered() {
    for (int i = 0; i < 20; ++i) {
      trenode::v1::ListDatasetsRequest list;
      trenode::v1::ListDatasetsResponse listed;
      auto context = testing::WithToken(node_.Token("bea", {"researcher"}));
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::Status status = node_.Catalogue()->ListDatasets(context.get(), list, &listed);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }

  void TearDown() override {
    for (auto& stream : streams_) stream->context->TryCancel();
    queue_.Shutdown();
    void* tag;
    bool ok;
    while (queue_.Next(&tag, &ok)) {
    }
  }

  static void* Tag(size_t index, int kind) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>(index * 2 + kind));
  }

  TestNode node_;
  std::unique_ptr<trenode::v1::ActivityLog::Stub> log_ =
      trenode::v1::ActivityLog::NewStub(node_.Channel());
  grpc::CompletionQueue queue_;
  std::vector<std::unique_ptr<OpenStream>> streams_;
};

TEST_F(StreamLimitsTest, OneCallersHundredsOfStreamsHurtOnlyThatCaller) {
  Open("audrey", 500);
  EXPECT_EQ(Refused(absl::Seconds(10)), 496);  // four are kept open
  OthersAreAnswered();
  // Another caller may still open streams of their own.
  int before = static_cast<int>(streams_.size());
  Open("kim", 1);
  EXPECT_EQ(Refused(absl::Seconds(1)), 496);
  EXPECT_FALSE(streams_[before]->finished);
}

TEST_F(StreamLimitsTest, AHundredStreamsOfManyCallersLeaveUnaryCallsAnswered) {
  for (int caller = 0; caller < 25; ++caller) Open(absl::StrCat("auditor", caller), 4);
  EXPECT_EQ(Refused(absl::Seconds(10)), 100 - 32);  // the node's share for streams
  OthersAreAnswered();
}

}  // namespace
}  // namespace trenode
