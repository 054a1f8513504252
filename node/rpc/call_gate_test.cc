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
    if (fail) return absl::UnavailableError("disk full at /var/lib/trenode/node.db");
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
  // The log's own error (a path here) is for the node's staff, not the caller.
  EXPECT_EQ(admitted.status().message().find("/var/lib"), absl::string_view::npos)
      << admitted.status();
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

// A partner's request that its check refuses is never logged as allowed;
// its refusals, by the table, the check or the domain, are one summary per
// partner; a person's refusal by a check is recorded as any other.
TEST(CallGateTest, APartnersRefusalsAreSummarisedAndNeverLoggedAsAllowed) {
  const auth::Principal partner{"site-a", trenode::v1::ROLE_PEER_NODE,
                                auth::Principal::Kind::kNode};
  FixedAuthenticator authenticator(partner);
  RecordingSink sink;
  CallGate gate(&authenticator, &sink);
  grpc::ServerContext context;
  auto malformed = [](const auth::Principal&) { return absl::InvalidArgumentError("subject"); };
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(gate.Admit(context, "/trenode.v1.Federation/SubmitContribution", malformed)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(gate.Admit(context, "/trenode.v1.Governance/CreateProject").status().code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(gate.RefuseCounted(partner, "/trenode.v1.Federation/AddCosignature",
                                 absl::FailedPreconditionError("not ours"))
                  .code(),
              absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_TRUE(sink.events.empty());
  ASSERT_TRUE(gate.FlushRefusals(/*now_all=*/true).ok());
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].object, "node/site-a");
  EXPECT_TRUE(absl::StartsWith(sink.events[0].reason, "150 calls of the partner refused"))
      << sink.events[0].reason;
  EXPECT_NE(sink.events[0].reason.find("SubmitContribution: subject (50)"), std::string::npos)
      << sink.events[0].reason;
  EXPECT_NE(sink.events[0].reason.find("AddCosignature: not ours (50)"), std::string::npos)
      << sink.events[0].reason;

  // A well-formed request is admitted and logged as before.
  auto fine = [](const auth::Principal&) { return absl::OkStatus(); };
  EXPECT_TRUE(gate.Admit(context, "/trenode.v1.Federation/SubmitContribution", fine).ok());
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[1].action, "auth.allow");

  // People are held to account one call at a time.
  FixedAuthenticator person(kResearcher);
  CallGate people(&person, &sink);
  EXPECT_FALSE(people.Admit(context, "/trenode.v1.Governance/CreateProject", malformed).ok());
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.events[2].action, "auth.deny");
  EXPECT_EQ(sink.events[2].reason, "subject");
}

}  // namespace
}  // namespace trenode::rpc
