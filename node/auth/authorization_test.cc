#include "node/auth/authorization.h"

#include "gtest/gtest.h"
#include "node/auth/roles.h"
#include "trenode/v1/activity_log.pb.h"
#include "trenode/v1/catalogue.pb.h"
#include "trenode/v1/governance.pb.h"

namespace trenode::auth {
namespace {

TEST(AuthorizationTest, EveryServiceMethodHasAnEntry) {
  for (const auto* file :
       {trenode::v1::Dataset::descriptor()->file(), trenode::v1::Project::descriptor()->file(),
        trenode::v1::LogEntry::descriptor()->file()}) {
    ASSERT_GT(file->service_count(), 0);
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int i = 0; i < service->method_count(); ++i) {
        std::string method =
            absl::StrCat("/", service->full_name(), "/", service->method(i)->name());
        EXPECT_TRUE(AuthorizationTable().contains(method))
            << method << " has no authorization entry";
      }
    }
  }
}

TEST(AuthorizationTest, DeniesByDefault) {
  Principal steward{"s", trenode::v1::ROLE_DATA_STEWARD};
  EXPECT_EQ(Authorize(steward, "/trenode.v1.Catalogue/NoSuchMethod").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      Authorize({"x", trenode::v1::ROLE_UNSPECIFIED}, "/trenode.v1.Catalogue/GetDataset").code(),
      absl::StatusCode::kUnauthenticated);
}

TEST(AuthorizationTest, OnlyStewardsChangeTheCatalogue) {
  for (int r = trenode::v1::Role_MIN + 1; r <= trenode::v1::Role_MAX; ++r) {
    auto role = static_cast<trenode::v1::Role>(r);
    Principal caller{"p", role};
    bool steward = role == trenode::v1::ROLE_DATA_STEWARD;
    EXPECT_EQ(Authorize(caller, "/trenode.v1.Catalogue/RegisterDataset").ok(), steward);
    EXPECT_EQ(Authorize(caller, "/trenode.v1.Catalogue/ImportDataset").ok(), steward);
    EXPECT_EQ(Authorize(caller, "/trenode.v1.Catalogue/ImportDatasetWithProgress").ok(), steward);
    EXPECT_TRUE(Authorize(caller, "/trenode.v1.Catalogue/SearchDatasets").ok()) << RoleName(role);
  }
  EXPECT_EQ(Authorize({"r", trenode::v1::ROLE_RESEARCHER}, "/trenode.v1.Catalogue/RetireDataset")
                .message(),
            "role researcher may not call /trenode.v1.Catalogue/RetireDataset");
}

TEST(RolesTest, NamesRoundTrip) {
  EXPECT_EQ(RoleName(trenode::v1::ROLE_DATA_STEWARD), "data_steward");
  EXPECT_EQ(RoleFromName("data_steward"), trenode::v1::ROLE_DATA_STEWARD);
  EXPECT_EQ(RoleFromName("ROLE_PEER_NODE"), trenode::v1::ROLE_PEER_NODE);
  EXPECT_EQ(RoleFromName("unspecified"), std::nullopt);
  EXPECT_EQ(RoleFromName("root"), std::nullopt);
}

}  // namespace
}  // namespace trenode::auth
