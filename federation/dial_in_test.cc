// DialIns without gRPC: the handler's side of a partner's stream is driven
// here by hand (Next to send, Deliver to answer).
#include "federation/dial_in.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace trenode::federation {
namespace {

trenode::v1::FederationConfig Listing(bool c_dials_in) {
  trenode::v1::FederationConfig config;
  auto* c = config.add_partners();
  c->set_node_id("site-c");
  c->set_dials_in(c_dials_in);
  if (!c_dials_in) c->set_address("127.0.0.1:1");
  return config;
}

TEST(DialInsTest, OnlyAPartnerListedAsDiallingInMayOpenAStream) {
  PartnerDirectory partners(Listing(false));
  DialIns dial_ins(&partners);
  EXPECT_EQ(dial_ins.Open("site-c").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dial_ins.Open("site-z").status().code(), absl::StatusCode::kFailedPrecondition);
  // With no stream, a call fails at once.
  absl::Time start = absl::Now();
  EXPECT_EQ(dial_ins.Call("site-c", "/m", "", absl::Seconds(5)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(DialInsTest, ACallIsAnsweredByItsOwnReplyWithWhatIsLeftOfItsDeadline) {
  PartnerDirectory partners(Listing(true));
  DialIns dial_ins(&partners);
  auto stream = *dial_ins.Open("site-c");
  std::thread partner([&] {
    std::optional<trenode::v1::RelayedCall> call = stream->Next(absl::Seconds(5));
    ASSERT_TRUE(call.has_value());
    EXPECT_EQ(call->method(), "/trenode.v1.Federation/GetNodeInfo");
    EXPECT_GT(call->deadline_ms(), 0);
    EXPECT_LE(call->deadline_ms(), 5000);
    // A reply to another id is dropped; then the real one.
    trenode::v1::RelayedReply stray;
    stray.set_id(call->id() + 1000);
    stray.set_response("not yours");
    stream->Deliver(stray);
    trenode::v1::RelayedReply reply;
    reply.set_id(call->id());
    reply.set_response("answer");
    stream->Deliver(reply);
  });
  absl::StatusOr<std::string> answer =
      dial_ins.Call("site-c", "/trenode.v1.Federation/GetNodeInfo", "req", absl::Seconds(5));
  partner.join();
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(*answer, "answer");

  // The partner's own refusal comes back as its status.
  std::thread refuser([&] {
    auto call = stream->Next(absl::Seconds(5));
    ASSERT_TRUE(call.has_value());
    trenode::v1::RelayedReply reply;
    reply.set_id(call->id());
    reply.set_code(static_cast<int>(absl::StatusCode::kPermissionDenied));
    reply.set_message("no");
    stream->Deliver(reply);
  });
  EXPECT_EQ(dial_ins.Call("site-c", "/m", "", absl::Seconds(5)).status().code(),
            absl::StatusCode::kPermissionDenied);
  refuser.join();
}

TEST(DialInsTest, UnansweredCallsExpireAndAClosedOrUnlistedStreamFailsThemAtOnce) {
  PartnerDirectory partners(Listing(true));
  DialIns dial_ins(&partners);
  auto stream = *dial_ins.Open("site-c");
  // Never sent nor answered: expires, and is not sent afterwards.
  EXPECT_EQ(dial_ins.Call("site-c", "/m", "", absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(stream->Next(absl::Milliseconds(10)).has_value());
  // A call waiting when the partner is no longer listed as dialling in.
  std::thread waiting([&] {
    EXPECT_EQ(dial_ins.Call("site-c", "/m", "", absl::Seconds(10)).status().code(),
              absl::StatusCode::kUnavailable);
  });
  while (!stream->Next(absl::Milliseconds(10)).has_value()) {
  }
  absl::Time start = absl::Now();
  partners.Replace(Listing(false));
  dial_ins.CloseUnlisted();
  waiting.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(stream->open());
  EXPECT_FALSE(dial_ins.IsOpen("site-c"));
}

TEST(DialInsTest, AClosedStreamHasItsTransportCancelledOnce) {
  PartnerDirectory partners(Listing(true));
  DialIns dial_ins(&partners);
  int first_cancelled = 0;
  int second_cancelled = 0;
  auto first = *dial_ins.Open("site-c", [&] { ++first_cancelled; });
  EXPECT_EQ(first_cancelled, 0);
  // A new stream replaces it: the old one's transport is cancelled, so a
  // handler blocked writing down it returns.
  auto second = *dial_ins.Open("site-c", [&] { ++second_cancelled; });
  EXPECT_EQ(first_cancelled, 1);
  EXPECT_EQ(second_cancelled, 0);
  dial_ins.Close("site-c", first);  // the old handler's own close: no second cancel
  EXPECT_EQ(first_cancelled, 1);
  dial_ins.CloseAll();
  EXPECT_EQ(second_cancelled, 1);
  dial_ins.Close("site-c", second);
  EXPECT_EQ(second_cancelled, 1);
  EXPECT_FALSE(second->open());
}

// The handler closes its stream itself before it returns and frees its
// call: a Close from elsewhere (the node stopping, a new stream replacing
// it) may be in the middle of cancelling the transport then, and the
// handler's Close must not return before that has, or the cancel runs on
// a freed context (a crash seen as "pure virtual method called").
TEST(DialInsTest, ACloseReturnsOnlyOnceACancelAnotherCloseStartedHasReturned) {
  PartnerDirectory partners(Listing(true));
  DialIns dial_ins(&partners);
  absl::Notification cancelling;
  std::atomic<bool> cancelled{false};
  std::atomic<int> calls{0};
  auto stream = *dial_ins.Open("site-c", [&] {
    ++calls;
    cancelling.Notify();
    absl::SleepFor(absl::Milliseconds(300));
    cancelled = true;
  });
  std::thread stopping([&] { dial_ins.CloseAll(); });
  cancelling.WaitForNotification();
  dial_ins.Close("site-c", stream);  // the handler's own
  EXPECT_TRUE(cancelled);
  stopping.join();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace trenode::federation
