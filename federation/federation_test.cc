// The federation domain around a fake PartnerCaller: the partner list and its
// reloads, what each kind of failure is reported as, parallel asking within
// the deadline, and the node's own description.
#include "federation/federation.h"

#include <atomic>
#include <map>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "federation/unimplemented_partner_caller.h"

namespace trenode::federation {
namespace {
using trenode::v1::PartnerStatus;

trenode::v1::FederationConfig Partners(
    std::initializer_list<std::pair<const char*, const char*>> list) {
  trenode::v1::FederationConfig config;
  for (auto [id, address] : list) {
    auto* partner = config.add_partners();
    partner->set_node_id(id);
    partner->set_address(address);
  }
  return config;
}

TEST(PartnerDirectoryTest, ReplaceSaysWhatChangedAndTakesEffectAtOnce) {
  PartnerDirectory directory(Partners({{"site-b", "b:1"}, {"site-c", "c:1"}}));
  EXPECT_TRUE(directory.IsPartner("site-b"));
  EXPECT_FALSE(directory.IsPartner("site-d"));
  PartnerDirectory::Change change =
      directory.Replace(Partners({{"site-c", "c:2"}, {"site-d", "d:1"}}));
  EXPECT_EQ(change.added, std::vector<std::string>{"site-d"});
  EXPECT_EQ(change.removed, std::vector<std::string>{"site-b"});
  EXPECT_EQ(change.moved, std::vector<std::string>{"site-c"});
  EXPECT_FALSE(directory.IsPartner("site-b"));
  EXPECT_EQ(directory.Find("site-c")->address(), "c:2");
  EXPECT_TRUE(directory.Replace(Partners({{"site-c", "c:2"}, {"site-d", "d:1"}})).empty());
}

// Answers per partner id: info, an error, or a wait.
class FakeCaller : public UnimplementedPartnerCaller {
 public:
  absl::StatusOr<trenode::v1::NodeInfo> GetNodeInfo(const trenode::v1::Partner& partner,
                                                    absl::Duration deadline) override {
    ++calls;
    if (partner.node_id() == "slow") {
      // Waits out its deadline, as a partner that never answers.
      absl::SleepFor(deadline);
      return absl::DeadlineExceededError("no answer within the deadline");
    }
    if (partner.node_id() == "refuser") {
      return absl::PermissionDeniedError("node \"home\" is not a partner of this node");
    }
    if (partner.node_id() == "impostor") {
      return absl::FailedPreconditionError("presented a certificate that does not name it");
    }
    if (partner.node_id() == "down") return absl::UnavailableError("connection refused");
    trenode::v1::NodeInfo info;
    info.set_node_id(partner.node_id());
    info.set_institution("Institution of " + partner.node_id());
    return info;
  }
  std::atomic<int> calls = 0;
};

TEST(FederationTest, ListPartnersReportsEachOutcomeAndWaitsForNoOneBeyondTheDeadline) {
  PartnerDirectory directory(Partners({{"good", "g:1"},
                                       {"slow", "s:1"},
                                       {"refuser", "r:1"},
                                       {"impostor", "i:1"},
                                       {"down", "d:1"}}));
  FakeCaller caller;
  Federation federation(
      {}, [] { return std::vector<std::string>{}; }, &directory, &caller);
  absl::Time start = absl::Now();
  trenode::v1::ListPartnersResponse listed = federation.ListPartners(absl::Milliseconds(300));
  absl::Duration took = absl::Now() - start;
  // In parallel: the slow partner's 300 ms, not the sum of everyone's.
  EXPECT_LT(took, absl::Seconds(2));
  ASSERT_EQ(listed.partners_size(), 5);
  std::map<std::string, PartnerStatus> by_id;
  for (const auto& status : listed.partners()) by_id[status.node_id()] = status;
  EXPECT_EQ(by_id["good"].reachability(), PartnerStatus::REACHABILITY_ANSWERED);
  EXPECT_EQ(by_id["good"].info().institution(), "Institution of good");
  EXPECT_EQ(by_id["good"].address(), "g:1");
  EXPECT_EQ(by_id["slow"].reachability(), PartnerStatus::REACHABILITY_UNREACHABLE);
  EXPECT_EQ(by_id["down"].reachability(), PartnerStatus::REACHABILITY_UNREACHABLE);
  EXPECT_EQ(by_id["refuser"].reachability(), PartnerStatus::REACHABILITY_REFUSED);
  EXPECT_NE(by_id["refuser"].detail().find("not a partner"), std::string::npos);
  EXPECT_EQ(by_id["impostor"].reachability(), PartnerStatus::REACHABILITY_WRONG_IDENTITY);
  EXPECT_FALSE(by_id["impostor"].has_info());
}

TEST(FederationTest, NodeInfoCarriesTheThemesOfTheMomentWithinTheirTtl) {
  PartnerDirectory directory({});
  FakeCaller caller;
  std::vector<std::string> themes = {"cardiology"};
  int asked = 0;
  trenode::v1::NodeInfo self;
  self.set_node_id("home");
  self.add_capabilities("catalogue");
  Federation federation(
      self,
      [&]() -> absl::StatusOr<std::vector<std::string>> {
        ++asked;
        return themes;
      },
      &directory, &caller, absl::Milliseconds(50));
  auto info = federation.GetNodeInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->node_id(), "home");
  EXPECT_EQ(info->capabilities(0), "catalogue");
  ASSERT_EQ(info->dataset_themes_size(), 1);
  themes.push_back("diabetes");
  EXPECT_EQ(federation.GetNodeInfo()->dataset_themes_size(), 1);  // cached
  EXPECT_EQ(asked, 1);
  absl::SleepFor(absl::Milliseconds(60));
  EXPECT_EQ(federation.GetNodeInfo()->dataset_themes_size(), 2);
  EXPECT_EQ(asked, 2);
}

TEST(FederationTest, AFailingThemeSourceFailsTheCallRatherThanClaimingNoThemes) {
  PartnerDirectory directory({});
  FakeCaller caller;
  Federation federation(
      {}, []() -> absl::StatusOr<std::vector<std::string>> { return absl::UnavailableError("db"); },
      &directory, &caller);
  EXPECT_EQ(federation.GetNodeInfo().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace trenode::federation
