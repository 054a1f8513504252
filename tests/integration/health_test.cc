// The node's health (grpc.health.v1) reflects whether it can serve: a node
// whose activity log cannot write refuses every call it would record, and
// says NOT_SERVING until the log writes again.
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/storage/sqlite.h"
#include "tests/e2e/protos/grpc_standard/health.grpc.pb.h"
#include "tests/testutil/releases_fixture.h"

namespace trenode {
namespace {
using grpc::health::v1::HealthCheckResponse;

class HealthTest : public testing::ReleasesFixture {
 protected:
  HealthCheckResponse::ServingStatus Health(const std::string& service = "") {
    auto stub = grpc::health::v1::Health::NewStub(node_.Channel());
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  // Waits up to 20 s (the node looks every 2 s) for `want`.
  bool Becomes(HealthCheckResponse::ServingStatus want) {
    for (int i = 0; i < 200; ++i) {
      if (Health() == want && Health("trenode.v1.Catalogue") == want) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  grpc::Status CreateProject(const std::string& id) {
    auto governance = trenode::v1::Governance::NewStub(node_.Channel());
    trenode::v1::CreateProjectRequest create;
    create.mutable_project()->set_id(id);
    create.mutable_project()->set_title("T");
    create.mutable_project()->set_principal_investigator("ada@test-node");
    trenode::v1::Project project;
    return governance->CreateProject(As("sam", "data_steward").get(), create, &project);
  }

  void Exec(const std::string& sql) {
    auto db = storage::SqliteDb::Open(node_.config().database_path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }
};

TEST_F(HealthTest, NotServingWhileTheLogCannotWrite) {
  EXPECT_EQ(Health(), HealthCheckResponse::SERVING);
  // The disk is full, as far as the log can tell.
  Exec("CREATE TRIGGER injected_fault BEFORE INSERT ON log_entries BEGIN "
       "SELECT RAISE(ABORT, 'injected fault: the disk is full'); END");
  grpc::Status refused = CreateProject("while-full");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_TRUE(Becomes(HealthCheckResponse::NOT_SERVING));
  Exec("DROP TRIGGER injected_fault");
  // The next call the log records brings the node back.
  grpc::Status created = CreateProject("after-full");
  EXPECT_TRUE(created.ok()) << created.error_message();
  EXPECT_TRUE(Becomes(HealthCheckResponse::SERVING));
}

}  // namespace
}  // namespace trenode
