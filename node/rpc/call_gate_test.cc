#include "node/rpc/call_gate.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trenode::rpc {
namespace {

class FixedAuthenticator : public Authenticator {
 public:
  explicit FixedAuthenticator(absl::StatusOr<auth::Principal> principal)
      : principal_(std::move(principal)) {}
  absl::StatusOr<auth::Principal> Authenticate(const grpc::ServerContext&) override {
    return principal_;
  }

 private:
  absl::StatusOr<auth::Principal> principal_;
};

// Remembers what it is told, or fails every record.
class RecordingSink : public log::EventSink {
 public:
  absl::Status Record(const auth::Principal& actor, log::ActivityEvent event) override {
    if (fail) return absl::UnavailableError("disk full");
    actors.push_back(actor.subject);
    events.push_back(std::move(event));
    return absl::OkStatus();
  }
  bool fail = false;
  std::vector<std::string> actors;
  std::vector<log::ActivityEvent> events;
};

const auth::Principal kResearcher{"ada", trenode::v1::ROLE_RESEARCHER};

TEST(CallGateTest, RecordsRefusalsAndChangesButNotQueries) {
  FixedAuthenticator authenticator(kResearcher);
  RecordingSink sink;
  CallGate gate(&authenticator, &sink);
  grpc::ServerContext context;
  EXPECT_TRUE(gate.Admit(context, "/trenode.v1.Catalogue/GetDataset").ok());
  EXPECT_TRUE(sink.events.empty());
  EXPECT_EQ(gate.Admit(context, "/trenode.v1.Catalogue/RetireDataset").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(gate.Admit(context, "/trenode.v1.Governance/CreateProject").ok());
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].action, "auth.deny");
  EXPECT_EQ(sink.events[0].object, "/trenode.v1.Catalogue/RetireDataset");
  EXPECT_EQ(sink.events[0].reason,
            "role researcher may not call /trenode.v1.Catalogue/RetireDataset");
  EXPECT_EQ(sink.events[1].action, "auth.allow");
  EXPECT_EQ(sink.actors, (std::vector<std::string>{"ada", "ada"}));
}

TEST(CallGateTest, NothingProceedsThatTheLogCannotRecord) {
  FixedAuthenticator authenticator(kResearcher);
  RecordingSink sink;
  sink.fail = true;
  CallGate gate(&authenticator, &sink);
  grpc::ServerContext context;
  auto admitted = gate.Admit(context, "/trenode.v1.Governance/CreateProject");
  EXPECT_EQ(admitted.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(admitted.status().message().find("cannot record"), absl::string_view::npos);
  // Queries that are not recorded still work.
  EXPECT_TRUE(gate.Admit(context, "/trenode.v1.Catalogue/GetDataset").ok());
}

// Calls with no identity are refused at once but recorded as one summary
// per source, not one durable entry each; a reason from outside the node is
// capped and made printable.
TEST(CallGateTest, UnauthenticatedCallsAreRefusedAndSummarised) {
  FixedAuthenticator authenticator(absl::UnauthenticatedError("no credentials"));
  RecordingSink sink;
  CallGate gate(&authenticator, &sink);
  grpc::ServerContext context;
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(gate.Admit(context, "/trenode.v1.Catalogue/GetDataset").status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(sink.events.empty());
  ASSERT_TRUE(gate.FlushRefusals().ok());  // not a minute yet: nothing
  EXPECT_TRUE(sink.events.empty());
  ASSERT_TRUE(gate.FlushRefusals(/*now_all=*/true).ok());
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].action, "auth.deny.summary");
  EXPECT_EQ(sink.events[0].outcome, "deny");
  EXPECT_TRUE(absl::StartsWith(sink.events[0].reason, "500 calls refused without an identity"))
      << sink.events[0].reason;
  EXPECT_TRUE(absl::EndsWith(sink.events[0].reason, ": no credentials (500)"))
      << sink.events[0].reason;

  FixedAuthenticator forged(
      absl::UnauthenticatedError(absl::StrCat("key id \"", std::string(5000, 'k'), "\nforged")));
  CallGate second(&forged, &sink);
  (void)second.Admit(context, "/trenode.v1.Catalogue/GetDataset");
  ASSERT_TRUE(second.FlushRefusals(/*now_all=*/true).ok());
  EXPECT_LT(sink.events.back().reason.size(), 400u);
  EXPECT_EQ(sink.events.back().reason.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace trenode::rpc
